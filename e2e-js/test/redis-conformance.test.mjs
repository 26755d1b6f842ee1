// Our sio-conformance server in one Redis cluster with a Node socket.io 4.8 server that runs
// in this test process, once through each cluster engine: the pub/sub adapter
// (@socket.io/redis-adapter 8.3 beside ours with REDIS_URL) and the streams adapter
// (@socket.io/redis-streams-adapter 0.3.1 beside ours with REDIS_STREAMS_URL), both on the
// `redis` 4 client: the cluster handlers of the conformance contract
// (reference/sio-conformance.mjs, "With REDIS_URL") seen from Node's side.
//   (a) Node's serverSideEmit("hello", ...args): our server broadcasts hello(...args) to the
//       whole cluster;
//   (b) Node's serverSideEmitWithAck("hello", x): our server answers x;
//   (c) our server's serverSideEmit / serverSideEmitWithAck reach Node's handler and bring
//       its answer back;
//   (d) Node's fetchSockets() describes our sockets as Node describes its own: `data` is {}
//       when never set (Node code reads `socket.data.user`), and no handshake field is null;
//   (e) broadcasts with acks (BROADCAST with a requestId, answered with
//       BROADCAST_CLIENT_COUNT and BROADCAST_ACK) both ways collect every client's answer;
//   (f) socketsJoin and socketsLeave both ways, seen by broadcasts to the room, and our
//       fetchSockets reaching Node's sockets;
//   (g) disconnectSockets both ways.
//
// Needs redis-server on PATH (scripts/test-all.sh installs it) and the sio-conformance binary
// (cargo build -p sio-conformance), or SIO_SERVER=node to run the Node reference as "ours".
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe } from "node:test";
import { createAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import { HOST, sleep, startServer, withTimeout } from "./harness.mjs";
import { startRedis } from "./redis-harness.mjs";
import { ABSENCE_MS, clusterClient, disconnectsBothWays, emitAck, notInRoom, reachesRoom, sorted, uniqueToken, useSioServer } from "./sio-harness.mjs";

const WAIT = 5000;

/** The cluster engines: our server's switch, and Node's adapter on its Redis clients. */
const ENGINES = [
  {
    name: "pub/sub",
    env: "REDIS_URL",
    async adapter(url) {
      const pub = createClient({ url });
      const sub = pub.duplicate();
      await Promise.all([pub.connect(), sub.connect()]);
      return { adapter: createAdapter(pub, sub), clients: [pub, sub] };
    },
  },
  {
    name: "streams",
    env: "REDIS_STREAMS_URL",
    async adapter(url) {
      const client = createClient({ url });
      await client.connect();
      return { adapter: createStreamsAdapter(client), clients: [client] };
    },
  },
];

/**
 * The other server of the cluster: Node's socket.io with `engine`'s adapter, and the
 * contract's server-side `hello` handler. `heard` records each server-side hello as
 * {args, acked}.
 */
async function startNodeServer(engine, url) {
  const { adapter, clients } = await engine.adapter(url);
  const httpServer = createServer();
  const io = new Server(httpServer, { adapter });
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
    await Promise.allSettled(clients.map((client) => client.quit()));
  };
  return { io, heard, url: `http://${HOST}:${httpServer.address().port}`, close };
}

for (const engine of ENGINES) describe(`our server and a Node server in one Redis cluster (${engine.name})`, () => {
  // REDIS_URL or REDIS_STREAMS_URL is filled in once redis-server runs, before our server
  // starts.
  const env = {};
  let redis = null;
  let node = null;
  const clients = [];

  // Registered first: runs before useSioServer starts our server with `env`.
  before(async () => {
    if (ctx.skip) return;
    redis = await startRedis();
    env[engine.env] = redis.url;
  });
  const ctx = useSioServer("sio-conformance", { env });
  const { test } = ctx;

  const client = (url, label, opts = {}) => clusterClient(clients, url, label, opts, WAIT);

  let onOurs = null;
  let onNode = null;
  before(async () => {
    if (ctx.skip) return;
    node = await startNodeServer(engine, redis.url);
    // Redis counts each server once its subscriptions are active: then each hears the other.
    for (let tries = 0; (await node.io.of("/").adapter.serverCount()) !== 2; tries++) {
      assert.ok(tries < 200, "the cluster never counted 2 servers");
      await sleep(50);
    }
    onOurs = await client(ctx.server.url, "client of ours", { auth: { token: "ours", n: 1 } });
    onNode = await client(node.url, "client of Node's");
  });

  after(async () => {
    for (const socket of clients) socket.disconnect();
    await node?.close();
    // (useSioServer's own `after` stops our server; Redis goes last, with a moment for it)
    await ctx.server?.stop();
    await redis?.stop();
  });

  test("(a) Node's serverSideEmit(hello) is broadcast by our server to the whole cluster", { timeout: 15_000 }, async () => {
    const token = uniqueToken("a");
    const args = [token, 2, { three: [3, "x", null] }];
    node.io.serverSideEmit("hello", ...args);
    for (const socket of [onOurs, onNode]) {
      const got = await socket.rec.waitFor("hello", WAIT, (a) => a[0] === token);
      assert.deepStrictEqual(got, args, socket.rec.label);
    }
    // Node's own handler never sees its own server-side emits.
    assert.ok(!node.heard.some((h) => h.args[0] === token), "Node heard its own serverSideEmit");
  });

  test("(b) Node's serverSideEmitWithAck(hello, x) is answered with x, unchanged", { timeout: 15_000 }, async () => {
    const x = { token: uniqueToken("b"), list: [1, "two", null, { deep: true }], n: -2.5 };
    assert.deepStrictEqual(await node.io.serverSideEmitWithAck("hello", x, "only the first counts"), [x]);
    assert.deepStrictEqual(await node.io.serverSideEmitWithAck("hello", "plain"), ["plain"]);
    assert.deepStrictEqual(await node.io.serverSideEmitWithAck("hello"), [null]);
    // The callback form, with the adapter's own timeout.
    const viaCallback = await withTimeout(
      new Promise((resolve, reject) =>
        node.io.serverSideEmit("hello", 7, (error, answers) => (error ? reject(error) : resolve(answers))),
      ),
      WAIT + 1000,
      "serverSideEmit's callback",
    );
    assert.deepStrictEqual(viaCallback, [7]);
    // An answered hello is not broadcast: a marker broadcast after it comes first.
    const marker = uniqueToken("b-marker");
    node.io.serverSideEmit("hello", marker);
    await onOurs.rec.waitFor("hello", WAIT, (a) => a[0] === marker);
    assert.ok(!onOurs.rec.has("hello", (a) => a[0]?.token === x.token), "an acked hello was broadcast");
    assert.ok(!onOurs.rec.has("hello", (a) => a[0] === "plain" || a[0] === 7), "an acked hello was broadcast");
  });

  test("(c) our server's serverSideEmit and serverSideEmitWithAck reach Node's handler", { timeout: 15_000 }, async () => {
    const token = uniqueToken("c");
    assert.deepStrictEqual(await emitAck(onOurs, WAIT, "server-side-emit", token, { n: 1 }), []);
    // Node's handler broadcasts it back to the cluster: our client gets it from Node.
    assert.deepStrictEqual(await onOurs.rec.waitFor("hello", WAIT, (a) => a[0] === token), [token, { n: 1 }]);
    assert.deepStrictEqual(await onNode.rec.waitFor("hello", WAIT, (a) => a[0] === token), [token, { n: 1 }]);
    assert.deepStrictEqual(
      node.heard.filter((h) => h.args[0] === token),
      [{ args: [token, { n: 1 }], acked: false }],
    );

    const x = { token: uniqueToken("c-ack"), nested: [{ a: [1, 2] }, "s", false] };
    assert.deepStrictEqual(await emitAck(onOurs, WAIT + 2000, "server-side-emit-with-ack", x, "second"), [[x]]);
    assert.deepStrictEqual(
      node.heard.filter((h) => h.args[0]?.token === x.token),
      [{ args: [x, "second"], acked: true }],
    );
    // Answered, so not broadcast by Node.
    await sleep(ABSENCE_MS);
    assert.ok(!onOurs.rec.has("hello", (a) => a[0]?.token === x.token), "an acked hello was broadcast");
  });

  test("(d) Node's fetchSockets sees our sockets as Node's own: data {} and a full handshake", { timeout: 15_000 }, async () => {
    const plain = await client(ctx.server.url, "client of ours without auth");
    const fetched = await node.io.fetchSockets();
    assert.deepStrictEqual(
      sorted(fetched.map((s) => s.id)),
      sorted([onOurs.id, onNode.id, plain.id]),
      "the sockets of both servers",
    );
    const nodeOwn = fetched.find((s) => s.id === onNode.id);
    for (const [socket, auth] of [
      [onOurs, { token: "ours", n: 1 }],
      [plain, {}],
    ]) {
      const remote = fetched.find((s) => s.id === socket.id);
      const label = socket.rec.label;
      // Node's default socket.data is {}; Node code reads its fields without a check.
      assert.deepStrictEqual(remote.data, {}, `${label}: data`);
      assert.equal(remote.data.user, undefined);
      const { handshake } = remote;
      const types = {
        headers: "object",
        time: "string",
        address: "string",
        xdomain: "boolean",
        secure: "boolean",
        issued: "number",
        url: "string",
        query: "object",
        auth: "object",
      };
      for (const [field, type] of Object.entries(types)) {
        assert.notEqual(handshake[field], null, `${label}: handshake.${field} is ${handshake[field]}`);
        assert.equal(typeof handshake[field], type, `${label}: handshake.${field}`);
        // As on a socket of Node's own.
        assert.equal(typeof nodeOwn.handshake[field], type, `Node's own handshake.${field}`);
      }
      assert.deepStrictEqual(handshake.auth, auth, `${label}: handshake.auth`);
      assert.equal(handshake.query.EIO, "4", `${label}: handshake.query`);
      assert.equal(handshake.query.transport, "websocket", `${label}: handshake.query`);
      assert.ok(handshake.url.startsWith("/socket.io/?"), `${label}: handshake.url ${handshake.url}`);
      assert.equal(typeof handshake.headers.host, "string", `${label}: handshake.headers`);
      assert.ok(Math.abs(Date.now() - handshake.issued) < 60_000, `${label}: handshake.issued ${handshake.issued}`);
      assert.ok(!Number.isNaN(Date.parse(handshake.time)), `${label}: handshake.time ${handshake.time}`);
    }

    // Data set on our server crosses as it was set.
    const data = { user: "ann", roles: ["admin"], n: 3, nothing: null };
    assert.deepStrictEqual(await emitAck(onOurs, WAIT, "set-data", data), []);
    const again = await node.io.fetchSockets();
    assert.deepStrictEqual(again.find((s) => s.id === onOurs.id)?.data, data);
    assert.deepStrictEqual(again.find((s) => s.id === plain.id)?.data, {});
  });
  /** To `room` as "room", from our server or from Node's. */
  const fromOurs = async (room, t) => assert.deepStrictEqual(await emitAck(onOurs, WAIT, "to-room", room, t), []);
  const fromNode = async (room, t) => node.io.to(room).emit("room", t);

  test("(e) broadcasts with acks both ways collect every client's answer", { timeout: 15_000 }, async () => {
    const expected = () => sorted(clients.filter((s) => s.connected).map((s) => s.rec.label));
    const value = uniqueToken("e");
    const [answer] = await emitAck(onOurs, WAIT, "broadcast-with-ack", value);
    assert.equal(answer.error, null);
    assert.deepStrictEqual(sorted(answer.answers.map((a) => a.from)), expected());
    for (const a of answer.answers) assert.equal(a.value, value);
    const answers = await node.io.timeout(2000).emitWithAck("ask", "from node");
    assert.deepStrictEqual(sorted(answers.map((a) => a.from)), expected());
    for (const a of answers) assert.equal(a.value, "from node");
  });

  test("(f) socketsJoin and socketsLeave both ways, and our fetchSockets reaching Node's sockets", { timeout: 20_000 }, async () => {
    // Ours makes Node's socket join, then leave.
    const room = uniqueToken("f-ours");
    assert.deepStrictEqual(await emitAck(onOurs, WAIT, "sockets-join", onNode.id, room), []);
    await reachesRoom(fromOurs, room, onNode);
    assert.deepStrictEqual(await emitAck(onOurs, WAIT, "fetch-sockets", room), [[onNode.id]]);
    assert.deepStrictEqual(await emitAck(onOurs, WAIT, "fetch-sockets", onNode.id), [[onNode.id]]);
    assert.deepStrictEqual(await emitAck(onOurs, WAIT, "join", room), [room]);
    assert.deepStrictEqual(await emitAck(onOurs, WAIT, "fetch-sockets", room), [sorted([onNode.id, onOurs.id])]);
    assert.deepStrictEqual(await emitAck(onOurs, WAIT, "sockets-leave", onNode.id, room), []);
    await notInRoom(fromNode, room, onNode);
    assert.deepStrictEqual(await emitAck(onOurs, WAIT, "fetch-sockets", room), [[onOurs.id]]);

    // Node makes our socket join, then leave.
    const room2 = uniqueToken("f-node");
    node.io.in(onOurs.id).socketsJoin(room2);
    await reachesRoom(fromNode, room2, onOurs);
    node.io.in(onOurs.id).socketsLeave(room2);
    await notInRoom(fromNode, room2, onOurs);
  });

  test("(g) disconnectSockets both ways", { timeout: 15_000 }, async () => {
    await disconnectsBothWays({ client, ourUrl: ctx.server.url, node, asker: onOurs, bystanders: [onOurs, onNode], timeoutMs: WAIT });
  });
});
