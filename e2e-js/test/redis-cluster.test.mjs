// One cluster of Node and Rust servers on one real Redis: Node's socket.io 4.8 with
// @socket.io/redis-adapter 8.3 (reference/redis-node.mjs) beside two Rust bench-servers with
// socketio-redis. Clients of each server receive the broadcasts made on any of them.
//
// Needs redis-server on PATH (scripts/test-all.sh installs it) and the bench-server binary
// (cargo build -p bench-server), or BENCH_SERVER_BIN=<path>.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { io } from "socket.io-client";
import { E2E_ROOT, HOST, REPO_ROOT, freePort, sleep, withTimeout } from "./harness.mjs";

const RUST_BIN = process.env.BENCH_SERVER_BIN ?? path.join(REPO_ROOT, "target", "debug", "bench-server");
const WAIT = 5000;

/** Spawns a process and resolves once a stdout line says it listens (or `ready` matches). */
function launch(cmd, args, env, ready = /"listening"/) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.log = "";
  child.stderr.on("data", (d) => (child.log += d));
  const started = new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      child.log += d;
      if (ready.test(child.log)) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`${cmd} exited (${code}): ${child.log}`)));
  });
  return withTimeout(started, WAIT * 2, `${cmd} to start`);
}

function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  return withTimeout(exited, WAIT, "a cluster process to exit");
}

/**
 * What a client receives as `bcast`, in order: `next()` waits for the next one, and
 * `next.drain()` takes whatever has arrived without waiting.
 */
function listen(socket) {
  const queue = [];
  const waiters = [];
  socket.on("bcast", (payload) => {
    const waiter = waiters.shift();
    if (waiter) waiter(payload);
    else queue.push(payload);
  });
  const next = () =>
    queue.length
      ? Promise.resolve(queue.shift())
      : withTimeout(new Promise((resolve) => waiters.push(resolve)), WAIT, "a bcast");
  next.drain = () => queue.splice(0);
  return next;
}

describe("a cluster of Node and Rust servers on Redis", () => {
  const processes = [];
  const clients = {};
  const next = {};

  before(async () => {
    assert.ok(existsSync(RUST_BIN), `no bench-server at ${RUST_BIN}: cargo build -p bench-server`);
    const redisPort = await freePort();
    processes.push(
      await launch(
        "redis-server",
        ["--port", String(redisPort), "--bind", HOST, "--save", "", "--appendonly", "no"],
        {},
        /Ready to accept connections/,
      ),
    );
    const env = { REDIS_URL: `redis://${HOST}:${redisPort}` };
    const servers = {
      node: ["node", [path.join(E2E_ROOT, "reference", "redis-node.mjs")]],
      rust1: [RUST_BIN, []],
      rust2: [RUST_BIN, []],
    };
    for (const [name, [cmd, args]] of Object.entries(servers)) {
      const port = await freePort();
      processes.push(await launch(cmd, args, { ...env, PORT: String(port), SERVER_NAME: name }));
      const socket = io(`http://${HOST}:${port}`, { transports: ["websocket"], forceNew: true });
      clients[name] = socket;
      next[name] = listen(socket);
      socket.on("ping", (n, ack) => ack({ from: name, n }));
    }
    // Every server counts the other two before a test relies on them.
    for (const socket of Object.values(clients)) {
      for (let tries = 0; (await socket.timeout(WAIT).emitWithAck("servers")) !== 3; tries++) {
        assert.ok(tries < 100, "the cluster never counted 3 servers");
        await sleep(50);
      }
    }
  });

  after(async () => {
    if (process.env.CLUSTER_VERBOSE) for (const child of processes) console.error(child.log);
    for (const socket of Object.values(clients)) socket.disconnect();
    for (const child of processes.reverse()) await stop(child);
  });

  test("a broadcast from any server reaches the clients of all three", async () => {
    for (const from of ["node", "rust1", "rust2"]) {
      await clients[from].timeout(WAIT).emitWithAck("broadcast", null, { from });
      for (const to of ["node", "rust1", "rust2"]) {
        assert.deepEqual(await next[to](), { from }, `${from} -> ${to}`);
      }
    }
  });

  test("a room joined on one server is honoured by the others", async () => {
    await clients.rust1.timeout(WAIT).emitWithAck("join", "room-on-rust1");
    await clients.node.timeout(WAIT).emitWithAck("join", "room-on-node");
    await clients.node.timeout(WAIT).emitWithAck("broadcast", "room-on-rust1", "from node");
    await clients.rust2.timeout(WAIT).emitWithAck("broadcast", "room-on-node", "from rust2");
    assert.equal(await next.rust1(), "from node");
    assert.equal(await next.node(), "from rust2");
    // Then a broadcast to all from node: Redis relays one publisher's messages in order and
    // each server decides locally before it acks, so a client outside the rooms that had been
    // sent either room's message would see it before this marker.
    await clients.node.timeout(WAIT).emitWithAck("broadcast", null, "marker");
    for (const name of ["node", "rust1", "rust2"]) assert.equal(await next[name](), "marker", name);
  });

  test("binary payloads cross between Node and Rust", async () => {
    const bytes = Buffer.from([0, 1, 2, 254, 255]);
    await clients.node.timeout(WAIT).emitWithAck("broadcast", null, { file: bytes });
    for (const name of ["node", "rust1", "rust2"]) {
      const got = await next[name]();
      assert.ok(Buffer.isBuffer(got.file), `${name} got ${JSON.stringify(got)}`);
      assert.deepEqual(got.file, bytes, name);
    }
    await clients.rust1.timeout(WAIT).emitWithAck("broadcast", null, [bytes, "tail"]);
    for (const name of ["node", "rust1", "rust2"]) {
      const [file, tail] = await next[name]();
      assert.deepEqual(file, bytes, name);
      assert.equal(tail, "tail", name);
    }
  });

  test("fetchSockets on any server sees the sockets of all three", async () => {
    const ids = Object.values(clients)
      .map((socket) => socket.id)
      .sort();
    for (const [name, socket] of Object.entries(clients)) {
      assert.deepEqual(await socket.timeout(WAIT).emitWithAck("fetch"), ids, name);
    }
  });

  test("serverSideEmit with an ack crosses both ways", async () => {
    const answers = {
      node: ["rust1", "rust2"],
      rust1: ["node", "rust2"],
      rust2: ["node", "rust1"],
    };
    for (const [name, socket] of Object.entries(clients)) {
      assert.deepEqual(await socket.timeout(WAIT).emitWithAck("ask-servers"), answers[name], name);
    }
  });

  test("a socket made to join a room from another server gets that room's broadcasts", async () => {
    await clients.node.timeout(WAIT).emitWithAck("remote-join", clients.rust2.id, "joined-by-node");
    await clients.rust1.timeout(WAIT).emitWithAck("remote-join", clients.node.id, "joined-by-rust1");
    // A remote join is a message like any other: once a later broadcast from the same
    // server arrives, the join has been applied.
    for (const [from, room, to] of [
      ["node", "joined-by-node", "rust2"],
      ["rust1", "joined-by-rust1", "node"],
    ]) {
      for (let tries = 0; ; tries++) {
        await clients[from].timeout(WAIT).emitWithAck("broadcast", room, `to ${room}`);
        await sleep(100);
        if (next[to].drain().includes(`to ${room}`)) break;
        assert.ok(tries < 20, `${to} never joined ${room}`);
      }
    }
  });

  test("a broadcast with acks from any server collects the answers of every client", async () => {
    const all = ["node", "rust1", "rust2"].map((from) => JSON.stringify({ from, n: 1 })).sort();
    for (const [name, socket] of Object.entries(clients)) {
      assert.deepEqual(await socket.timeout(WAIT).emitWithAck("ack-all"), all, name);
    }
  });

  test("allRooms on the Node server lists the rooms of the Rust servers' sockets", async () => {
    await clients.rust2.timeout(WAIT).emitWithAck("join", "room-on-rust2");
    const rooms = await clients.node.timeout(WAIT).emitWithAck("all-rooms");
    for (const room of ["room-on-rust1", "room-on-rust2", clients.rust1.id, clients.rust2.id]) {
      assert.ok(rooms.includes(room), `${room} missing from ${rooms}`);
    }
  });

  test("a socket made to leave a room from another server no longer gets its broadcasts", async () => {
    await clients.node.timeout(WAIT).emitWithAck("remote-leave", clients.rust2.id, "joined-by-node");
    await clients.rust1.timeout(WAIT).emitWithAck("remote-leave", clients.node.id, "joined-by-rust1");
    // Each leave travels ahead of the broadcasts its server makes after it (one publisher, in
    // order); first, forget what earlier tests left in the queues.
    await sleep(200);
    next.rust2.drain();
    next.node.drain();
    await clients.node.timeout(WAIT).emitWithAck("broadcast", "joined-by-node", "left?");
    await clients.rust1.timeout(WAIT).emitWithAck("broadcast", "joined-by-rust1", "left?");
    await clients.node.timeout(WAIT).emitWithAck("broadcast", null, "after-leave");
    await clients.rust1.timeout(WAIT).emitWithAck("broadcast", null, "after-leave");
    for (const name of ["rust2", "node"]) {
      const seen = [await next[name](), await next[name]()];
      assert.deepEqual(seen, ["after-leave", "after-leave"], name);
    }
    next.rust1.drain();
  });

  test("a socket disconnected from another server is disconnected", async () => {
    for (const [from, on] of [
      ["rust1", "node"],
      ["node", "rust2"],
    ]) {
      const port = new URL(clients[on].io.uri).port;
      const victim = io(`http://${HOST}:${port}`, { transports: ["websocket"], forceNew: true });
      await withTimeout(new Promise((resolve) => victim.once("connect", resolve)), WAIT, "victim connect");
      const reason = new Promise((resolve) => victim.once("disconnect", resolve));
      await clients[from].timeout(WAIT).emitWithAck("remote-disconnect", victim.id);
      assert.equal(await withTimeout(reason, WAIT, `${on}'s socket disconnected by ${from}`), "io server disconnect");
      victim.close();
    }
  });
});
