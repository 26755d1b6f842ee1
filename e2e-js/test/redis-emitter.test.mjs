// Emitters (processes with no socket.io server, publishing on Redis) reaching the clients of
// a cluster of our sio-conformance server and Node's (reference/sio-conformance.mjs), both
// with REDIS_URL on one real Redis (Node's @socket.io/redis-adapter 8.3, our socketio-redis):
//   (a) Node's @socket.io/redis-emitter 5.1;
//   (b) ours, socketio-redis-emitter, through its example worker (examples/emit.rs, JSON
//       commands on stdin).
// The same cases for both: to all (binary included), a room, except, volatile, a namespace,
// socketsJoin and socketsLeave (on a socket of Node's server and on one of ours), compress(false),
// disconnectSockets (with and without close), serverSideEmit.
//
// Needs redis-server on PATH, and `cargo build -p sio-conformance -p socketio-redis-emitter
// --example emit` (or SIO_CONFORMANCE_BIN / EMITTER_BIN).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";
import { io } from "socket.io-client";
import { HOST, REPO_ROOT, sleep, startServer, withTimeout } from "./harness.mjs";
import { startRedis } from "./redis-harness.mjs";

const EMITTER_BIN = process.env.EMITTER_BIN ?? path.join(REPO_ROOT, "target", "debug", "examples", "emit");
const WAIT = 5000;

/** `{$binary: [..]}` in a command stands for bytes: a Buffer for Node's emitter. */
const toNode = (arg) => (arg && Array.isArray(arg.$binary) ? Buffer.from(arg.$binary) : arg);

/** Node's emitter, driven by the same commands as our example worker. */
async function nodeEmitter(url) {
  const client = createClient({ url });
  await client.connect();
  const root = new Emitter(client);
  return {
    name: "Node's @socket.io/redis-emitter",
    async run(command) {
      const emitter = command.nsp ? root.of(command.nsp) : root;
      let operator = emitter.to(command.to ?? []).except(command.except ?? []);
      if (command.volatile) operator = operator.volatile;
      if (command.compress !== undefined) operator = operator.compress(command.compress);
      const args = (command.args ?? []).map(toNode);
      switch (command.op) {
        case "emit": operator.emit(command.event, ...args); break;
        case "sockets_join": operator.socketsJoin(command.rooms); break;
        case "sockets_leave": operator.socketsLeave(command.rooms); break;
        case "disconnect_sockets": operator.disconnectSockets(command.close ?? false); break;
        case "server_side_emit": emitter.serverSideEmit(command.event, ...args); break;
        default: throw new Error(`unknown op ${command.op}`);
      }
      // The emitter does not return its publish; a PING behind it on the same connection
      // answers once Redis has taken it.
      await client.ping();
    },
    close: () => client.quit(),
  };
}

/** Our emitter: the example worker, one JSON command a line, answered `ok` once published. */
async function rustEmitter(url) {
  assert.ok(existsSync(EMITTER_BIN), `no emitter at ${EMITTER_BIN}: cargo build -p socketio-redis-emitter --example emit`);
  const child = spawn(EMITTER_BIN, [], { env: { ...process.env, REDIS_URL: url }, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    name: "our socketio-redis-emitter",
    async run(command) {
      child.stdin.write(`${JSON.stringify(command)}\n`);
      const { value } = await withTimeout(lines.next(), WAIT, "the emitter's answer");
      assert.equal(value, "ok", JSON.stringify(command));
    },
    async close() {
      child.stdin.end();
      await withTimeout(new Promise((resolve) => child.once("exit", resolve)), WAIT, "the emitter to exit");
    },
  };
}

/** A client of `server` on `nsp` that records every event it gets, with `next(pred)`. */
function client(server, nsp = "/") {
  const socket = io(`${server.url}${nsp === "/" ? "" : nsp}`, { transports: ["websocket"], forceNew: true });
  const events = [];
  const waiters = [];
  socket.onAny((...event) => {
    events.push(event);
    for (const waiter of [...waiters]) {
      if (waiter.pred(event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  /** The first event, already come or to come, that `pred` accepts. */
  const next = (pred, what) => {
    const seen = events.find(pred);
    if (seen) return Promise.resolve(seen);
    return withTimeout(new Promise((resolve) => waiters.push({ pred, resolve })), WAIT, what);
  };
  const connected = new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return { socket, events, next, connected: withTimeout(connected, WAIT, "connect") };
}

let counter = 0;
const token = (what) => `${what}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
const withToken = (name, t) => (event) => event[0] === name && event[1] === t;
const hasToken = (c, name, t) => c.events.some(withToken(name, t));

describe("emitters reach the clients of our server and of Node's on one Redis", () => {
  let redis;
  const servers = {};

  before(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url };
    servers.ours = await startServer({ kind: "sio-conformance", env });
    servers.node = await startServer({ kind: "sio-conformance", env, node: true });
  });

  after(async () => {
    for (const server of Object.values(servers)) await server?.stop();
    await redis?.stop();
  });

  for (const makeEmitter of [nodeEmitter, rustEmitter]) {
    describe(makeEmitter.name, () => {
      let emitter;
      const main = {};
      const custom = {};
      /** Every client on "/". */
      const mains = () => Object.values(main);

      /** Sends a marker to every client of `/` and `/custom`, and waits for it: what was
       * not delivered before it will not be (each server hears one publisher in order). */
      const marker = async () => {
        const t = token("marker");
        await emitter.run({ op: "emit", event: "marker", args: [t] });
        await emitter.run({ op: "emit", nsp: "/custom", event: "marker", args: [t] });
        for (const c of [...mains(), ...Object.values(custom)]) await c.next(withToken("marker", t), "the marker");
      };

      before(async () => {
        emitter = await makeEmitter(redis.url);
        for (const [name, server] of Object.entries(servers)) {
          main[name] = client(server);
          custom[name] = client(server, "/custom");
        }
        await Promise.all([...mains(), ...Object.values(custom)].map((c) => c.connected));
        // Until every server hears the request channel: a server-side hello is broadcast
        // back by each server that heard it, so each client gets it once per server.
        for (let tries = 0; ; tries++) {
          const t = token("ready");
          await emitter.run({ op: "server_side_emit", event: "hello", args: [t] });
          await sleep(200);
          const heardByBoth = (c) => c.events.filter(withToken("hello", t)).length === 2;
          if (mains().every(heardByBoth)) break;
          assert.ok(tries < 50, "the servers never all heard the emitter");
        }
      });

      after(async () => {
        for (const c of [...mains(), ...Object.values(custom)]) c.socket.disconnect();
        await emitter?.close();
      });

      test("to all, with binary", async () => {
        const t = token("all");
        await emitter.run({ op: "emit", event: "all", args: [t, { $binary: [0, 1, 255] }, { n: 1 }] });
        for (const [name, c] of Object.entries(main)) {
          const [, , bytes, object] = await c.next(withToken("all", t), `${name}: to all`);
          assert.deepEqual(Buffer.from(bytes), Buffer.from([0, 1, 255]), name);
          assert.deepEqual(object, { n: 1 }, name);
        }
        await marker();
        for (const c of Object.values(custom)) assert.ok(!hasToken(c, "all", t), "not to /custom");
      });

      test("to a room, except a room, volatile", async () => {
        const room = token("room");
        await withTimeout(main.ours.socket.emitWithAck("join", room), WAIT, "join");
        const [toRoom, except] = [token("to"), token("except")];
        await emitter.run({ op: "emit", to: [room], event: "to", args: [toRoom] });
        await emitter.run({ op: "emit", except: [room], event: "except", args: [except] });
        await main.ours.next(withToken("to", toRoom), "to the room");
        await main.node.next(withToken("except", except), "except the room");
        // Volatile: a server drops it for a client whose transport is busy writing (Node's
        // WebSocket is, for a moment after each send), so a few are sent, and each client
        // must get at least one.
        const volatile = [];
        const gotOne = (c) => c.events.some((e) => e[0] === "volatile" && volatile.includes(e[1]));
        for (let tries = 0; !mains().every(gotOne); tries++) {
          assert.ok(tries < 20, "no volatile emit arrived");
          volatile.push(token("volatile"));
          await emitter.run({ op: "emit", volatile: true, event: "volatile", args: [volatile.at(-1)] });
          await sleep(100);
        }
        await marker();
        assert.ok(!hasToken(main.node, "to", toRoom), "the room's message outside it");
        assert.ok(!hasToken(main.ours, "except", except), "the except message in the room");
      });

      test("a namespace", async () => {
        const t = token("ns");
        await emitter.run({ op: "emit", nsp: "/custom", event: "ns", args: [t] });
        for (const c of Object.values(custom)) await c.next(withToken("ns", t), "to /custom");
        await marker();
        for (const c of mains()) assert.ok(!hasToken(c, "ns", t), "not to /");
      });

      test("socketsJoin and socketsLeave", async () => {
        const room = token("joined");
        const [inRoom, afterLeave] = [token("in"), token("left")];
        await emitter.run({ op: "sockets_join", to: [main.node.socket.id], rooms: [room] });
        await emitter.run({ op: "emit", to: [room], event: "in", args: [inRoom] });
        await main.node.next(withToken("in", inRoom), "in the joined room");
        await emitter.run({ op: "sockets_leave", rooms: [room] });
        await emitter.run({ op: "emit", to: [room], event: "in", args: [afterLeave] });
        await marker();
        assert.ok(!hasToken(main.ours, "in", inRoom), "ours never joined");
        for (const c of mains()) assert.ok(!hasToken(c, "in", afterLeave), "after leaving");
      });

      test("socketsJoin and socketsLeave on a socket of our server", async () => {
        const [room, kept] = [token("ours-joined"), token("ours-kept")];
        const [inRoom, inKept, afterLeave, stillKept] = [token("in"), token("kept"), token("left"), token("still")];
        await emitter.run({ op: "sockets_join", to: [main.ours.socket.id], rooms: [room, kept] });
        await emitter.run({ op: "emit", to: [room], event: "in", args: [inRoom] });
        await emitter.run({ op: "emit", to: [kept], event: "in", args: [inKept] });
        await main.ours.next(withToken("in", inRoom), "in the joined room");
        await main.ours.next(withToken("in", inKept), "in the other joined room");
        // It leaves one of them only.
        await emitter.run({ op: "sockets_leave", to: [main.ours.socket.id], rooms: [room] });
        await emitter.run({ op: "emit", to: [room], event: "in", args: [afterLeave] });
        await emitter.run({ op: "emit", to: [kept], event: "in", args: [stillKept] });
        await main.ours.next(withToken("in", stillKept), "still in the room it did not leave");
        await marker();
        for (const t of [inRoom, inKept, stillKept]) assert.ok(!hasToken(main.node, "in", t), "Node's never joined");
        for (const c of mains()) assert.ok(!hasToken(c, "in", afterLeave), "after leaving");
      });

      test("compress(false) still delivers", async () => {
        const t = token("uncompressed");
        const big = "x".repeat(4000);
        await emitter.run({ op: "emit", compress: false, event: "uncompressed", args: [t, big, { n: 1 }] });
        for (const [name, c] of Object.entries(main)) {
          const [, , text, object] = await c.next(withToken("uncompressed", t), `${name}: uncompressed`);
          assert.equal(text, big, name);
          assert.deepEqual(object, { n: 1 }, name);
        }
        const r = token("uncompressed-room");
        await emitter.run({ op: "emit", compress: false, to: [main.ours.socket.id], event: "uncompressed", args: [r] });
        await main.ours.next(withToken("uncompressed", r), "ours: uncompressed to its id");
        await marker();
        assert.ok(!hasToken(main.node, "uncompressed", r), "to our socket only");
      });

      test("serverSideEmit reaches every server's handler", async () => {
        // The contract's server-side hello is broadcast by each server that hears it.
        const t = token("sse");
        await emitter.run({ op: "server_side_emit", event: "hello", args: [t] });
        for (const c of mains()) {
          await c.next((event) => c.events.filter(withToken("hello", t)).length === 2 || false, "hello twice");
        }
      });

      test("disconnectSockets, with and without close", async () => {
        // On each server one client is disconnected alone, one with its connection (`close`),
        // each with a second socket (on /custom) on the same connection: the emitter's socket
        // hears "io server disconnect" either way, and the other is cut off only with close
        // (the other socket's client hears "transport close" from Node's server, "io server
        // disconnect" from ours: either says the connection went).
        const doomed = [];
        for (const [name, server] of Object.entries(servers)) {
          for (const close of [false, true]) {
            const c = client(server);
            const other = c.socket.io.socket("/custom").connect();
            const otherUp = new Promise((resolve) => other.once("connect", resolve));
            doomed.push({ name, close, c, other, otherUp });
          }
        }
        await Promise.all(doomed.map(({ c, otherUp }) => Promise.all([c.connected, withTimeout(otherUp, WAIT, "/custom")])));
        for (const d of doomed) {
          d.reason = new Promise((resolve) => d.c.socket.once("disconnect", resolve));
          d.otherReason = new Promise((resolve) => d.other.once("disconnect", resolve));
        }
        for (const { c, close } of doomed) {
          await emitter.run({ op: "disconnect_sockets", to: [c.socket.id], close });
        }
        for (const d of doomed) {
          const what = `${d.name}, close ${d.close}`;
          assert.equal(await withTimeout(d.reason, WAIT, what), "io server disconnect", what);
          const other = await Promise.race([d.otherReason, sleep(d.close ? WAIT : 300).then(() => null)]);
          if (d.close) assert.ok(["transport close", "io server disconnect"].includes(other), `${what}: ${other}`);
          else assert.equal(other, null, `${what}: the other socket`);
          d.other.disconnect();
          d.c.socket.disconnect();
        }
        // Nobody else was.
        for (const c of mains()) assert.ok(c.socket.connected);
      });
    });
  }
});
