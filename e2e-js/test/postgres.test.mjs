// Two of our sio-conformance servers (POSTGRES_URL) and a Node socket.io 4.8 server with
// @socket.io/postgres-adapter 0.5 (pg 8) in this test process, one cluster on one PostgreSQL
// the test starts: broadcasts both ways, rooms, binary, a payload over NOTIFY's 8000 bytes
// (through the attachments table), broadcasts with acks, fetchSockets, serverSideEmit with and
// without acks, the server count, socketsJoin / socketsLeave / fetchSockets / disconnectSockets
// from ours on Node's sockets and back, ADAPTER_CLOSE both ways (a closed server stops being
// counted at once, before the heartbeat timeout); then PostgreSQL killed and restarted under
// load (each adapter connects again and LISTENs again, and broadcasts cross again), and one of
// our servers killed with SIGKILL (the others stop counting it after the heartbeat timeout,
// and requests complete without it). Heartbeats every 500 ms, a server dropped after 2 s of
// silence, on every server.
//
// Needs Debian's postgresql (scripts/test-all.sh installs it) and the sio-conformance binary
// (cargo build -p sio-conformance), or SIO_SERVER=node to run the Node reference as "ours".
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe } from "node:test";
import { createAdapter } from "@socket.io/postgres-adapter";
import pg from "pg";
import { Server } from "socket.io";
import { HOST, sioServerKind, sleep, startServer, withTimeout } from "./harness.mjs";
import { postgresBin, startPostgres } from "./postgres-harness.mjs";
import { ABSENCE_MS, clusterClient, disconnectsBothWays, emitAck, notInRoom, reachesRoom, sorted, uniqueToken, useSioServer } from "./sio-harness.mjs";

const WAIT = 5000;
const HEARTBEATS = { heartbeatInterval: 500, heartbeatTimeout: 2000 };

/** Node's server of the cluster, with the contract's server-side `hello` handler. */
async function startNodeServer(url) {
  const pool = new pg.Pool({ connectionString: url });
  pool.on("error", () => {}); // a restarted PostgreSQL: the pool makes new connections
  // The adapter's LISTEN client is checked out of the pool, where pg emits its errors on the
  // client itself: without a listener there, a lost connection throws (the process dies) and
  // the adapter never hears its `end` to reconnect. A listener on every client of the pool
  // lets Node's adapter reconnect as ours does.
  pool.on("connect", (client) => client.on("error", () => {}));
  const httpServer = createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pool, HEARTBEATS) });
  const heard = [];
  io.on("hello", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    heard.push({ args, acked: Boolean(ack) });
    if (ack) ack(args.length ? args[0] : null);
    else io.emit("hello", ...args);
  });
  await new Promise((resolve) => httpServer.listen(0, HOST, resolve));
  const close = async () => {
    await new Promise((resolve) => io.close(() => resolve()));
    await pool.end().catch(() => {});
  };
  return { io, pool, heard, url: `http://${HOST}:${httpServer.address().port}`, close };
}

/** Waits until `cond()` holds (async), polling. */
async function eventually(cond, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await sleep(50);
  }
}

const noPostgres = postgresBin() ? null : "no PostgreSQL under /usr/lib/postgresql";

describe("two of our servers and a Node server in one PostgreSQL cluster", noPostgres ? { skip: noPostgres } : {}, () => {
  // Our adapter's warnings on stderr: what it lost while PostgreSQL was away.
  const env = { PG_HEARTBEAT_MS: "500", PG_HEARTBEAT_TIMEOUT_MS: "2000", RUST_LOG: "socketio_postgres=warn" };
  let postgres = null;
  let node = null;
  let second = null;
  const clients = [];

  // Registered first: runs before useSioServer starts our server with `env`.
  before(async () => {
    if (ctx.skip) return;
    postgres = await startPostgres();
    env.POSTGRES_URL = postgres.url;
  });
  const ctx = useSioServer("sio-conformance", { env });
  const { test } = ctx;

  const client = (url, label, opts = {}) => clusterClient(clients, url, label, opts, WAIT);

  let onA = null;
  let onB = null;
  let onNode = null;
  before(async () => {
    if (ctx.skip) return;
    second = await startServer({ kind: "sio-conformance", env: { ...env } });
    node = await startNodeServer(postgres.url);
    await eventually(async () => (await node.io.of("/").adapter.serverCount()) === 3, 10_000, "Node counts 3 servers");
    onA = await client(ctx.server.url, "client of ours (A)");
    onB = await client(second.url, "client of ours (B)");
    onNode = await client(node.url, "client of Node's");
  });

  after(async () => {
    for (const socket of clients) socket.disconnect();
    // Each step bounded: one stuck shutdown must not keep the run alive.
    const step = (what, promise) => withTimeout(Promise.resolve(promise), WAIT, what).catch((e) => console.error(e.message));
    await step("Node's server to close", node?.close());
    await step("our second server to stop", second?.stop());
    await step("our server to stop", ctx.server?.stop());
    await step("postgres to stop", postgres?.stop());
  });

  test("broadcasts cross both ways, each received once", { timeout: 20_000 }, async () => {
    const t1 = uniqueToken("ours");
    assert.deepStrictEqual(await emitAck(onA, WAIT, "broadcast", t1, { n: 1 }), []);
    for (const socket of [onA, onB, onNode]) {
      assert.deepStrictEqual(await socket.rec.waitFor("broadcast", WAIT, (a) => a[0] === t1), [t1, { n: 1 }]);
    }
    const t2 = uniqueToken("node");
    node.io.emit("from-node", t2, [1, "two", null]);
    for (const socket of [onA, onB, onNode]) {
      assert.deepStrictEqual(await socket.rec.waitFor("from-node", WAIT, (a) => a[0] === t2), [t2, [1, "two", null]]);
    }
    await sleep(ABSENCE_MS);
    for (const socket of [onA, onB, onNode]) {
      assert.equal(socket.rec.all("broadcast", (a) => a[0] === t1).length, 1, socket.rec.label);
      assert.equal(socket.rec.all("from-node", (a) => a[0] === t2).length, 1, socket.rec.label);
    }
  });

  test("rooms: joined on one server, reached from the others", { timeout: 20_000 }, async () => {
    const room = uniqueToken("room");
    assert.deepStrictEqual(await emitAck(onB, WAIT, "join", room), [room]);
    const t1 = uniqueToken("to-room");
    node.io.to(room).emit("room", t1);
    assert.deepStrictEqual(await onB.rec.waitFor("room", WAIT, (a) => a[0] === t1), [t1]);
    const t2 = uniqueToken("to-room-ours");
    assert.deepStrictEqual(await emitAck(onA, WAIT, "to-room", room, t2), []);
    assert.deepStrictEqual(await onB.rec.waitFor("room", WAIT, (a) => a[0] === t2), [t2]);
    // Node's socketsJoin reaches our socket, and except skips it.
    node.io.in(onA.id).socketsJoin(room);
    await sleep(ABSENCE_MS);
    const t3 = uniqueToken("except");
    node.io.to(room).except(onB.id).emit("room", t3);
    assert.deepStrictEqual(await onA.rec.waitFor("room", WAIT, (a) => a[0] === t3), [t3]);
    await sleep(ABSENCE_MS);
    for (const socket of [onB, onNode]) {
      assert.ok(!socket.rec.has("room", (a) => a[0] === t3), `${socket.rec.label} got what was not for it`);
    }
    assert.ok(!onNode.rec.has("room", (a) => a[0] === t1 || a[0] === t2), "Node's client is in no room");
  });

  test("binary and a payload over 8000 bytes go through the attachments table", { timeout: 20_000 }, async () => {
    const before = Number((await node.pool.query("SELECT count(*) AS n FROM socket_io_attachments")).rows[0].n);
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const t1 = uniqueToken("bin");
    await emitAck(onA, WAIT, "broadcast", t1, bytes);
    for (const socket of [onB, onNode]) {
      const [, got] = await socket.rec.waitFor("broadcast", WAIT, (a) => a[0] === t1);
      assert.deepStrictEqual(Buffer.from(got), bytes, socket.rec.label);
    }
    const t2 = uniqueToken("bin-node");
    node.io.emit("from-node", t2, { file: bytes });
    for (const socket of [onA, onB]) {
      const [, got] = await socket.rec.waitFor("from-node", WAIT, (a) => a[0] === t2);
      assert.deepStrictEqual(Buffer.from(got.file), bytes, socket.rec.label);
    }
    const big = "x".repeat(20_000);
    const t3 = uniqueToken("big");
    await emitAck(onA, WAIT, "broadcast", t3, big);
    for (const socket of [onB, onNode]) {
      assert.equal((await socket.rec.waitFor("broadcast", WAIT, (a) => a[0] === t3))[1], big);
    }
    const t4 = uniqueToken("big-node");
    node.io.emit("from-node", t4, big);
    for (const socket of [onA, onB]) {
      assert.equal((await socket.rec.waitFor("from-node", WAIT, (a) => a[0] === t4))[1], big);
    }
    const rows = Number((await node.pool.query("SELECT count(*) AS n FROM socket_io_attachments")).rows[0].n);
    assert.ok(rows >= before + 4, `one row per message that did not fit a NOTIFY (${before} -> ${rows})`);
  });

  test("a broadcast with acks collects the answers of every server's clients", { timeout: 20_000 }, async () => {
    const value = uniqueToken("ask");
    const [answer] = await emitAck(onA, WAIT, "broadcast-with-ack", value);
    assert.equal(answer.error, null);
    assert.deepStrictEqual(
      sorted(answer.answers.map((a) => a.from)),
      sorted([onA.rec.label, onB.rec.label, onNode.rec.label]),
    );
    const answers = await node.io.timeout(2000).emitWithAck("ask", "from node");
    assert.deepStrictEqual(sorted(answers.map((a) => a.from)), sorted([onA.rec.label, onB.rec.label, onNode.rec.label]));
  });

  test("fetchSockets, serverSideEmit with and without acks, the server count", { timeout: 20_000 }, async () => {
    const data = { user: "ann", n: 3 };
    assert.deepStrictEqual(await emitAck(onB, WAIT, "set-data", data), []);
    const fetched = await node.io.fetchSockets();
    assert.deepStrictEqual(sorted(fetched.map((s) => s.id)), sorted([onA.id, onB.id, onNode.id]));
    assert.deepStrictEqual(fetched.find((s) => s.id === onB.id).data, data);
    assert.equal(await node.io.of("/").adapter.serverCount(), 3);

    // Node asks: both of ours answer.
    const x = { token: uniqueToken("x") };
    assert.deepStrictEqual(await node.io.serverSideEmitWithAck("hello", x), [x, x]);
    // Ours asks: the other of ours and Node answer.
    const y = { token: uniqueToken("y") };
    assert.deepStrictEqual(await emitAck(onA, WAIT + 2000, "server-side-emit-with-ack", y), [[y, y]]);
    assert.ok(node.heard.some((h) => h.args[0]?.token === y.token && h.acked));
    // Without acks: each receiver broadcasts hello to the cluster (Node and B: twice each).
    const t = uniqueToken("hello");
    assert.deepStrictEqual(await emitAck(onA, WAIT, "server-side-emit", t), []);
    await onNode.rec.until(() => onNode.rec.all("hello", (a) => a[0] === t).length === 2, WAIT, "two hellos");
  });

  /** To `room` as "room", through `sender`, a client of one of our servers. */
  const through = (sender) => (room, t) => emitAck(sender, WAIT, "to-room", room, t);

  test("our socketsJoin, fetchSockets and socketsLeave reach Node's sockets", { timeout: 20_000 }, async () => {
    const room = uniqueToken("ours-join");
    assert.deepStrictEqual(await emitAck(onA, WAIT, "sockets-join", onNode.id, room), []);
    await reachesRoom(through(onB), room, onNode);
    // fetchSockets from ours: Node's socket, by its room and by its id.
    assert.deepStrictEqual(await emitAck(onA, WAIT, "fetch-sockets", room), [[onNode.id]]);
    assert.deepStrictEqual(await emitAck(onA, WAIT, "fetch-sockets", onNode.id), [[onNode.id]]);
    assert.deepStrictEqual(await emitAck(onB, WAIT, "join", room), [room]);
    assert.deepStrictEqual(await emitAck(onA, WAIT, "fetch-sockets", room), [sorted([onNode.id, onB.id])]);
    // socketsLeave from ours: Node's socket leaves, ours stays.
    assert.deepStrictEqual(await emitAck(onA, WAIT, "sockets-leave", onNode.id, room), []);
    await notInRoom(through(onA), room, onNode);
    await reachesRoom(through(onA), room, onB);
    assert.deepStrictEqual(await emitAck(onA, WAIT, "fetch-sockets", room), [[onB.id]]);
  });

  test("Node's socketsLeave reaches our socket", { timeout: 20_000 }, async () => {
    const room = uniqueToken("node-leave");
    node.io.in(onA.id).socketsJoin(room);
    await reachesRoom(through(onB), room, onA);
    node.io.in(onA.id).socketsLeave(room);
    await notInRoom(through(onB), room, onA);
  });

  test("disconnectSockets both ways: ours disconnects Node's socket, Node's ours", { timeout: 20_000 }, async () => {
    await disconnectsBothWays({ client, ourUrl: ctx.server.url, node, asker: onA, bystanders: [onA, onB, onNode], timeoutMs: WAIT });
  });

  test("Node's serverSideEmit without an ack reaches our handlers", { timeout: 20_000 }, async () => {
    const t = uniqueToken("node-hello");
    node.io.serverSideEmit("hello", t, { n: 2 });
    // Each of ours broadcasts it to the cluster: every client gets it twice, as sent.
    for (const socket of [onA, onB, onNode]) {
      await socket.rec.until(() => socket.rec.all("hello", (a) => a[0] === t).length === 2, WAIT, "two hellos");
    }
    await sleep(ABSENCE_MS);
    for (const socket of [onA, onB, onNode]) {
      assert.deepStrictEqual(socket.rec.all("hello", (a) => a[0] === t).map((r) => r.args), [[t, { n: 2 }], [t, { n: 2 }]]);
    }
    assert.ok(!node.heard.some((h) => h.args[0] === t), "Node heard its own serverSideEmit");
  });

  test("ADAPTER_CLOSE: a closing Node server and a stopping one of ours stop being counted at once", { timeout: 30_000 }, async () => {
    // Sooner than the heartbeat timeout (2 s) could drop them.
    const AT_ONCE_MS = 1200;
    const other = await startNodeServer(postgres.url);
    try {
      await eventually(async () => (await node.io.of("/").adapter.serverCount()) === 4, 10_000, "Node counts 4 servers");
      const y0 = { token: uniqueToken("four") };
      await eventually(
        async () => JSON.stringify(await emitAck(onA, WAIT + 2000, "server-side-emit-with-ack", y0)) === JSON.stringify([[y0, y0, y0]]),
        10_000,
        "ours hears 3 others",
      );
      // Node's io.close() publishes ADAPTER_CLOSE (its pool stays open: nothing else is sent).
      await new Promise((resolve) => other.io.close(() => resolve()));
      const closed = Date.now();
      const y = { token: uniqueToken("after-close") };
      // Ours asks the servers it counts: without the closed one, nobody is waited for.
      assert.deepStrictEqual(await emitAck(onA, WAIT + 2000, "server-side-emit-with-ack", y), [[y, y]]);
      const took = Date.now() - closed;
      assert.ok(took < AT_ONCE_MS, `our server stopped counting Node's closed server after ${took} ms`);
      assert.equal(await node.io.of("/").adapter.serverCount(), 3);
    } finally {
      await other.pool.end().catch(() => {});
    }

    // Ours, stopped gracefully (SIGTERM): Node stops counting it at once.
    const third = await startServer({ kind: "sio-conformance", env: { ...env } });
    let stopping = null;
    try {
      await eventually(async () => (await node.io.of("/").adapter.serverCount()) === 4, 10_000, "Node counts 4 servers");
      const stopped = Date.now();
      stopping = third.stop();
      await eventually(async () => (await node.io.of("/").adapter.serverCount()) === 3, AT_ONCE_MS, "Node counts 3 servers at once");
      const took = Date.now() - stopped;
      assert.ok(took < AT_ONCE_MS, `Node stopped counting our stopped server after ${took} ms`);
    } finally {
      await (stopping ?? third.stop());
    }
  });

  test("PostgreSQL restarted under load: every adapter connects again, and broadcasts cross again", { timeout: 60_000 }, async () => {
    let n = 0;
    const load = setInterval(() => {
      node.io.emit("load", n++);
      onA.emit("broadcast", "load-ours", n);
    }, 20);
    try {
      await sleep(300);
      await postgres.kill();
      await sleep(1000);
      await postgres.start();
      // Both ways again: Node's listener reconnects within 1 to 3 s.
      const fromNode = onA.rec.all("load").length;
      await onA.rec.until(() => onA.rec.all("load").length > fromNode + 5, 20_000, "Node's broadcasts on our server again");
      const fromOursOnB = onB.rec.all("broadcast").length;
      await onB.rec.until(() => onB.rec.all("broadcast").length > fromOursOnB + 5, 20_000, "our broadcasts on our other server again");
      const fromOurs = onNode.rec.all("broadcast").length;
      await onNode.rec.until(() => onNode.rec.all("broadcast").length > fromOurs + 5, 20_000, "our broadcasts on Node's server again");
    } finally {
      clearInterval(load);
    }
    await eventually(async () => (await node.io.of("/").adapter.serverCount()) === 3, 10_000, "Node counts 3 servers again");
    const t = uniqueToken("after");
    await emitAck(onB, WAIT, "broadcast", t);
    for (const socket of [onA, onB, onNode]) await socket.rec.waitFor("broadcast", WAIT, (a) => a[0] === t);
    if (sioServerKind === "rust") {
      // Ours said what was lost: how long it could not listen, and what it could not send.
      const said = ctx.server.describe();
      assert.match(said, /postgres listener back: what the other servers sent while it was away is lost.*away_ms/, said);
      assert.match(said, /never reached the other servers.*by_type/, said);
    }
  });

  test("a server killed with SIGKILL stops being counted, and requests complete without it", { timeout: 30_000 }, async () => {
    second.signal("SIGKILL");
    const started = Date.now();
    // Requests made at once wait for it until the heartbeat timeout, then go on without it.
    const fetched = node.io.fetchSockets();
    const y = { token: uniqueToken("after-kill") };
    const asked = emitAck(onA, 10_000, "server-side-emit-with-ack", y);
    assert.deepStrictEqual(sorted((await fetched).map((s) => s.id)), sorted([onA.id, onNode.id]));
    assert.deepStrictEqual(await asked, [[y]]);
    assert.ok(Date.now() - started < 4500, `within the heartbeat timeout (${Date.now() - started} ms)`);
    await eventually(async () => (await node.io.of("/").adapter.serverCount()) === 2, 5000, "Node counts 2 servers");
    const [answer] = await emitAck(onA, WAIT, "broadcast-with-ack", uniqueToken("ask"));
    assert.deepStrictEqual(sorted(answer.answers.map((a) => a.from)), sorted([onA.rec.label, onNode.rec.label]));
  });
});
