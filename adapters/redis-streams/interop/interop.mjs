// A manual interop check, not part of any test suite: Node's @socket.io/redis-streams-adapter
// 0.3.1 and this crate's sio-conformance server (REDIS_STREAMS_URL, RECOVERY_MS) on one real
// redis-server (ports 6391, 3391 and 3392 must be free). Broadcasts both ways (binary too) with
// offsets, fetchSockets, serverSideEmitWithAck both ways, a broadcast with acks, socketsJoin, and
// sessions persisted by one implementation and restored by the other. Run:
//   cargo build -p sio-conformance && npm install
//   BIN=$CARGO_TARGET_DIR/debug/sio-conformance node interop.mjs   # ends with "ALL OK"
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { Server } from "socket.io";
import { io as ioc } from "socket.io-client";
import { createClient } from "redis";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import assert from "node:assert/strict";

const REDIS_PORT = 6391, RUST_PORT = 3391, NODE_PORT = 3392;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const redisProc = spawn("redis-server", ["--port", String(REDIS_PORT), "--save", "", "--appendonly", "no"], { stdio: "ignore" });
await sleep(300);
const url = `redis://127.0.0.1:${REDIS_PORT}`;
const rust = spawn(process.env.BIN, [], { env: { ...process.env, PORT: String(RUST_PORT), REDIS_STREAMS_URL: url, RECOVERY_MS: "5000" }, stdio: ["ignore", "pipe", "inherit"] });
const cleanup = () => { rust.kill(); redisProc.kill(); };
process.on("exit", cleanup);
const redis = createClient({ url });
await redis.connect();
const http = createServer();
const io = new Server(http, { connectionStateRecovery: { maxDisconnectionDuration: 5000 }, adapter: createAdapter(redis) });
io.on("connection", (s) => {
  s.on("join", (room, cb) => { s.join(room); cb(); });
});
io.on("hello", (...args) => { const cb = args.pop(); if (typeof cb === "function") cb("node-answer"); });
http.listen(NODE_PORT);
await sleep(1500);
const waitEvent = (s, ev) => new Promise((r) => s.once(ev, (...a) => r(a)));
const connect = (port, opts = {}) => new Promise((r) => { const s = ioc(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false, ...opts }); s.once("connect", () => r(s)); });

const count = await io.of("/").adapter.serverCount();
console.log("node serverCount", count); assert.equal(count, 2);

const onRust = await connect(RUST_PORT);
const onNode = await connect(NODE_PORT);
// Node broadcasts (binary too): the Rust server's client gets it with an offset last.
let got = waitEvent(onRust, "x");
io.emit("x", 1, Buffer.from([1, 2, 3]));
let args = await got;
console.log("rust client got", args);
assert.equal(args[0], 1); assert.deepEqual([...new Uint8Array(args[1])], [1, 2, 3]); assert.match(args[2], /^\d+-\d+$/);
// Rust broadcasts (through the conformance `broadcast` handler): Node's client gets it.
got = waitEvent(onNode, "broadcast");
await onRust.emitWithAck("broadcast", "from-rust", Buffer.from([9]));
args = await got;
console.log("node client got", args);
assert.equal(args[0], "from-rust"); assert.deepEqual([...new Uint8Array(args[1])], [9]); assert.match(args[2], /^\d+-\d+$/);
// fetchSockets from Node sees the Rust server's socket.
const sockets = await io.fetchSockets();
console.log("node fetchSockets", sockets.map((s) => s.id));
assert.equal(sockets.length, 2); assert.ok(sockets.some((s) => s.id === onRust.id));
// serverSideEmitWithAck from Node: Rust answers with the first argument.
const answers = await io.serverSideEmitWithAck("hello", "ping");
console.log("node sse answers", answers); assert.deepEqual(answers, ["ping"]);
// serverSideEmitWithAck from Rust: Node answers.
const fromRust = await onRust.emitWithAck("server-side-emit-with-ack", "q");
console.log("rust sse answers", fromRust); assert.deepEqual(fromRust, ["node-answer"]);
// A broadcast with acks from Node reaches the Rust server's client and its answer comes back.
onRust.once("ask", (v, cb) => cb("rust-ack"));
onNode.once("ask", (v, cb) => cb("node-ack"));
const acks = await io.timeout(2000).emitWithAck("ask", 1);
console.log("node broadcast acks", acks); assert.deepEqual(acks.sort(), ["node-ack", "rust-ack"]);
// socketsJoin from Node reaches the Rust server's socket.
io.in(onRust.id).socketsJoin("joined-by-node");
await sleep(200);
got = waitEvent(onRust, "room-ev");
io.to("joined-by-node").emit("room-ev", "r");
assert.equal((await got)[0], "r");

// Recovery: a session persisted by Rust, restored by Node.
await onRust.emitWithAck("join", "room1");
got = waitEvent(onRust, "init");
io.to("room1").emit("init");
await got;
const pid = onRust._pid, offset = onRust._lastOffset, rustId = onRust.id;
console.log("rust session", pid, offset);
onRust.io.engine.close();
await sleep(300);
io.to("room1").emit("missed", 1);
io.to("room2").emit("missed", 2);
await sleep(200);
const back = ioc(`http://127.0.0.1:${NODE_PORT}`, { transports: ["websocket"], reconnection: false, autoConnect: false });
back._pid = pid; back._lastOffset = offset;
const missed = [];
back.on("missed", (v) => missed.push(v));
back.connect();
await waitEvent(back, "connect");
await sleep(100);
console.log("restored on node", back.recovered, back.id === rustId, missed);
assert.equal(back.recovered, true); assert.equal(back.id, rustId); assert.deepEqual(missed, [1]);

// And a session persisted by Node, restored by Rust.
const n = await connect(NODE_PORT);
const ns = (await io.in(n.id).fetchSockets())[0];
ns.join("roomN");
got = waitEvent(n, "init2"); io.to("roomN").emit("init2"); await got;
const npid = n._pid, noff = n._lastOffset, nid = n.id;
n.io.engine.close();
await sleep(300);
const extra = await connect(NODE_PORT);
await extra.emitWithAck("join", "roomN").catch(() => {});
io.to("roomN").emit("missed2", "a", Buffer.from([7]));
await sleep(200);
const back2 = ioc(`http://127.0.0.1:${RUST_PORT}`, { transports: ["websocket"], reconnection: false, autoConnect: false });
back2._pid = npid; back2._lastOffset = noff;
const missed2 = [];
back2.on("missed2", (...v) => missed2.push(v));
back2.connect();
await waitEvent(back2, "connect");
await sleep(100);
console.log("restored on rust", back2.recovered, back2.id === nid, missed2);
assert.equal(back2.recovered, true); assert.equal(back2.id, nid); assert.equal(missed2.length, 1);
assert.equal(missed2[0][0], "a"); assert.deepEqual([...new Uint8Array(missed2[0][1])], [7]);
const data = await back2.emitWithAck("get-recovered");
console.log("rust says recovered", data);

// What is in the stream, raw.
console.log(JSON.stringify((await redis.xRange("socket.io", "-", "+")).slice(0, 3), null, 0));
console.log("ALL OK");
process.exit(0);
