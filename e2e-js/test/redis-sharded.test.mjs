// Two of our sio-conformance servers (REDIS_CLUSTER_URLS) and Node's reference server
// (reference/sio-conformance.mjs: createShardedAdapter of @socket.io/redis-adapter 8.3 on the
// redis 4 client's createCluster), one socket.io cluster on one Redis 7 Cluster (three
// masters) the test starts, in each of Node's subscription modes: broadcasts from each server
// reach the clients of all, rooms (and a socket's own room, which Node's servers address on a
// room channel of its own in the dynamic modes) are honoured across, broadcasts with acks
// collect every server's clients' answers, and serverSideEmit with acks crosses both ways.
// Then one of ours beside a Node server in this process (dynamic mode): fetchSockets,
// socketsJoin, socketsLeave and disconnectSockets of each act on the other's socket, and
// Node's serverCount counts ours.
//
// Needs redis-server and redis-cli 7 on PATH (scripts/test-all.sh installs them) and the
// sio-conformance binary (cargo build -p sio-conformance), or SIO_SERVER=node to run the Node
// reference as "ours" too.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createServer } from "node:http";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import { createCluster } from "redis";
import { Server } from "socket.io";
import { io as connectClient } from "socket.io-client";
import { sioSkipReason, sleep, startServer, withTimeout } from "./harness.mjs";
import { startRedisCluster } from "./redis-harness.mjs";
import { ABSENCE_MS, Recorder, clusterClient, emitAck, sorted, uniqueToken } from "./sio-harness.mjs";

const WAIT = 5000;
const MODES = ["static", "dynamic", "dynamic-private"];

const skip = sioSkipReason("sio-conformance");

describe("two of our servers and Node's on one Redis Cluster, sharded pub/sub", skip ? { skip } : {}, () => {
  let cluster = null;
  before(async () => {
    cluster = await startRedisCluster(3);
  });
  after(async () => {
    await withTimeout(cluster?.stop() ?? Promise.resolve(), WAIT, "the redis cluster to stop").catch((e) =>
      console.error(e.message),
    );
  });

  for (const mode of MODES) {
    describe(`subscriptionMode ${mode}`, () => {
      const servers = [];
      const clients = [];
      let onA = null;
      let onB = null;
      let onNode = null;

      const client = (url, label) => clusterClient(clients, url, label, {}, WAIT);

      before(async () => {
        const env = { REDIS_CLUSTER_URLS: cluster.urls.join(","), REDIS_SUBSCRIPTION_MODE: mode };
        // One at a time, each kept as soon as it runs: `after` stops whichever started.
        for (const node of [false, false, true]) {
          servers.push(await startServer({ kind: "sio-conformance", env, node }));
        }
        const [a, b, node] = servers;
        onA = await client(a.url, "client of ours (A)");
        onB = await client(b.url, "client of ours (B)");
        onNode = await client(node.url, "client of Node's");
        // Every server hears the other two before a test relies on them: each one's
        // serverSideEmitWithAck is answered by both others.
        for (const socket of [onA, onB, onNode]) {
          const deadline = Date.now() + 15_000;
          for (;;) {
            const [answers] = await emitAck(socket, WAIT + 2000, "server-side-emit-with-ack", "probe");
            if (Array.isArray(answers) && answers.length === 2) break;
            assert.ok(Date.now() < deadline, `${socket.rec.label} never heard both others: ${JSON.stringify(answers)}`);
            await sleep(100);
          }
        }
      });

      after(async () => {
        for (const socket of clients) socket.disconnect();
        const step = (what, promise) =>
          withTimeout(Promise.resolve(promise), WAIT, what).catch((e) => console.error(e.message));
        for (const server of servers) await step("a server to stop", server.stop());
      });

      test("a broadcast from each server reaches the clients of all three, once", { timeout: 20_000 }, async () => {
        for (const from of [onA, onB, onNode]) {
          const t = uniqueToken("bcast");
          assert.deepStrictEqual(await emitAck(from, WAIT, "broadcast", t, { n: 1 }), []);
          for (const socket of [onA, onB, onNode]) {
            assert.deepStrictEqual(
              await socket.rec.waitFor("broadcast", WAIT, (a) => a[0] === t),
              [t, { n: 1 }],
              `${from.rec.label} -> ${socket.rec.label}`,
            );
          }
        }
        const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
        for (const from of [onA, onNode]) {
          const t = uniqueToken("bin");
          await emitAck(from, WAIT, "broadcast", t, bytes);
          for (const socket of [onA, onB, onNode]) {
            const [, got] = await socket.rec.waitFor("broadcast", WAIT, (a) => a[0] === t);
            assert.deepStrictEqual(Buffer.from(got), bytes, `${from.rec.label} -> ${socket.rec.label}`);
          }
        }
        await sleep(ABSENCE_MS);
        for (const socket of [onA, onB, onNode]) {
          const counts = new Map();
          for (const { args: [t] } of socket.rec.all("broadcast")) counts.set(t, (counts.get(t) ?? 0) + 1);
          for (const [t, n] of counts) assert.equal(n, 1, `${socket.rec.label} got ${t} ${n} times`);
        }
      });

      test("rooms joined on one server are reached from the others, and no one else", { timeout: 20_000 }, async () => {
        const onOurs = uniqueToken("room-b");
        const onNodes = uniqueToken("room-node");
        assert.deepStrictEqual(await emitAck(onB, WAIT, "join", onOurs), [onOurs]);
        assert.deepStrictEqual(await emitAck(onNode, WAIT, "join", onNodes), [onNodes]);
        await sleep(ABSENCE_MS); // the room channels subscribed (dynamic modes)
        const sent = [];
        for (const [from, room, to] of [
          [onNode, onOurs, onB],
          [onA, onOurs, onB],
          [onA, onNodes, onNode],
          [onB, onNodes, onNode],
          // A socket's own room: Node's server sends to ours on its room's channel in the
          // dynamic modes, ours to Node's on the namespace's (its id looks like Node's).
          [onNode, onB.id, onB],
          [onA, onNode.id, onNode],
        ]) {
          const t = uniqueToken("to-room");
          sent.push(t);
          assert.deepStrictEqual(await emitAck(from, WAIT, "to-room", room, t), []);
          assert.deepStrictEqual(
            await to.rec.waitFor("room", WAIT, (a) => a[0] === t),
            [t],
            `${from.rec.label} -> ${room}`,
          );
        }
        await sleep(ABSENCE_MS);
        assert.deepStrictEqual(sorted(onB.rec.all("room").map((r) => r.args[0])), sorted([sent[0], sent[1], sent[4]]));
        assert.deepStrictEqual(sorted(onNode.rec.all("room").map((r) => r.args[0])), sorted([sent[2], sent[3], sent[5]]));
        assert.deepStrictEqual(onA.rec.all("room"), []);
      });

      test("a broadcast with acks collects the answers of every server's clients", { timeout: 20_000 }, async () => {
        const everyone = sorted([onA.rec.label, onB.rec.label, onNode.rec.label]);
        for (const from of [onA, onNode]) {
          const value = uniqueToken("ask");
          const [answer] = await emitAck(from, WAIT, "broadcast-with-ack", value);
          assert.equal(answer.error, null, from.rec.label);
          assert.deepStrictEqual(sorted(answer.answers.map((a) => a.from)), everyone, from.rec.label);
        }
      });

      test("serverSideEmit with an ack crosses both ways", { timeout: 30_000 }, async () => {
        for (const from of [onA, onB, onNode]) {
          const y = { token: uniqueToken("y") };
          assert.deepStrictEqual(
            await emitAck(from, WAIT + 2000, "server-side-emit-with-ack", y),
            [[y, y]],
            from.rec.label,
          );
        }
        // Without an ack, from Node's and from ours: each of the two others broadcasts hello
        // to the cluster.
        for (const from of [onNode, onA]) {
          const t = uniqueToken("hello");
          assert.deepStrictEqual(await emitAck(from, WAIT, "server-side-emit", t), []);
          for (const socket of [onA, onB, onNode]) {
            await socket.rec.until(
              () => socket.rec.all("hello", (a) => a[0] === t).length === 2,
              WAIT,
              `two hellos from ${from.rec.label} on ${socket.rec.label}`,
            );
          }
        }
      });
    });
  }
  describe("Node's cluster API on our server's sockets (in this process, dynamic mode)", () => {
    let ours = null;
    let node = null;
    let onOurs = null;
    let clients = [];
    let io = null;

    before(async () => {
      ours = await startServer({
        kind: "sio-conformance",
        env: { REDIS_CLUSTER_URLS: cluster.urls.join(","), REDIS_SUBSCRIPTION_MODE: "dynamic" },
      });
      const rootNodes = cluster.urls.map((url) => ({ url }));
      const pub = createCluster({ rootNodes });
      const sub = pub.duplicate();
      clients = [pub, sub];
      for (const client of clients) client.on("error", () => {});
      await Promise.all(clients.map((client) => client.connect()));
      const httpServer = createServer();
      io = new Server(httpServer, { adapter: createShardedAdapter(pub, sub, { subscriptionMode: "dynamic" }) });
      // As the contract's servers: answer a server-side hello with its first argument.
      io.on("hello", (...args) => {
        const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
        if (ack) ack(args.length ? args[0] : null);
      });
      await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
      node = httpServer;
      onOurs = connectClient(ours.url, { transports: ["websocket"], forceNew: true, reconnection: false });
      onOurs.rec = new Recorder(onOurs, "client of ours");
      await withTimeout(new Promise((resolve) => onOurs.once("connect", resolve)), WAIT, "our client to connect");
      const deadline = Date.now() + 15_000;
      while ((await io.of("/").adapter.serverCount()) !== 2) {
        assert.ok(Date.now() < deadline, "Node never counted our server");
        await sleep(100);
      }
    });

    after(async () => {
      onOurs?.disconnect();
      const step = (what, promise) =>
        withTimeout(Promise.resolve(promise), WAIT, what).catch((e) => console.error(e.message));
      if (io) await step("Node's server to close", new Promise((resolve) => io.close(() => resolve())));
      await step("Node's redis clients to quit", Promise.allSettled(clients.map((client) => client.quit())));
      await step("our server to stop", ours?.stop());
    });

    test("fetchSockets, socketsJoin, socketsLeave and disconnectSockets of Node's reach our socket", { timeout: 30_000 }, async () => {
      const data = { user: "ann", n: 3 };
      assert.deepStrictEqual(await emitAck(onOurs, WAIT, "set-data", data), []);
      assert.deepStrictEqual(await emitAck(onOurs, WAIT, "join", "room-ours"), ["room-ours"]);
      const fetched = await io.in("room-ours").fetchSockets();
      assert.deepStrictEqual(fetched.map((s) => s.id), [onOurs.id]);
      assert.deepStrictEqual(fetched[0].data, data);
      assert.ok(fetched[0].rooms.has("room-ours"), JSON.stringify([...fetched[0].rooms]));
      // Node's serverSideEmitWithAck is answered by ours.
      assert.deepStrictEqual(await io.serverSideEmitWithAck("hello", "x"), ["x"]);

      const room = uniqueToken("joined-by-node");
      io.in(onOurs.id).socketsJoin(room);
      // A join is a message like a broadcast: once one sent after it arrives, it was applied.
      for (let tries = 0; ; tries++) {
        const t = uniqueToken("to-joined");
        io.to(room).emit("room", t);
        if (await onOurs.rec.waitFor("room", 300, (a) => a[0] === t).catch(() => null)) break;
        assert.ok(tries < 20, "our socket never joined the room Node made it join");
      }
      io.in(onOurs.id).socketsLeave(room);
      await sleep(ABSENCE_MS);
      const gone = uniqueToken("gone");
      io.to(room).emit("room", gone);
      await sleep(ABSENCE_MS);
      assert.ok(!onOurs.rec.has("room", (a) => a[0] === gone), "our socket still got the room it left");

      const disconnected = new Promise((resolve) => onOurs.once("disconnect", resolve));
      io.in(onOurs.id).disconnectSockets();
      assert.equal(await withTimeout(disconnected, WAIT, "our socket to be disconnected"), "io server disconnect");
    });

    test("our fetchSockets, socketsJoin, socketsLeave and disconnectSockets reach Node's socket", { timeout: 30_000 }, async () => {
      const mine = connectClient(ours.url, { transports: ["websocket"], forceNew: true, reconnection: false });
      const theirs = connectClient(`http://127.0.0.1:${node.address().port}`, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
      });
      try {
        // Both listen from the start: awaiting one before listening to the other missed the
        // second's "connect" whenever it came first.
        const up = (socket, label) =>
          withTimeout(new Promise((resolve) => socket.once("connect", resolve)), WAIT, `${label} to connect`);
        await Promise.all([up(mine, "a client of ours"), up(theirs, "a client of Node's")]);
        const inRoom = (room) => io.of("/").adapter.rooms.get(room)?.has(theirs.id) ?? false;
        // Node's ClusterAdapter joins locally only once it has published the join: wait.
        io.in(theirs.id).socketsJoin("room-node");
        const deadline = Date.now() + WAIT;
        while (!inRoom("room-node")) {
          assert.ok(Date.now() < deadline, "Node's socket never joined room-node");
          await sleep(20);
        }
        assert.deepStrictEqual(await emitAck(mine, WAIT, "fetch-sockets", "room-node"), [[theirs.id]]);
        const room = uniqueToken("joined-by-ours");
        assert.deepStrictEqual(await emitAck(mine, WAIT, "sockets-join", theirs.id, room), []);
        const joined = Date.now() + WAIT;
        while (!inRoom(room)) {
          assert.ok(Date.now() < joined, "Node's socket never joined the room ours made it join");
          await sleep(20);
        }
        assert.deepStrictEqual(await emitAck(mine, WAIT, "sockets-leave", theirs.id, room), []);
        const left = Date.now() + WAIT;
        while (inRoom(room)) {
          assert.ok(Date.now() < left, "Node's socket never left the room");
          await sleep(20);
        }
        const disconnected = new Promise((resolve) => theirs.once("disconnect", resolve));
        assert.deepStrictEqual(await emitAck(mine, WAIT, "disconnect-sockets", theirs.id), []);
        assert.equal(await withTimeout(disconnected, WAIT, "Node's socket to be disconnected"), "io server disconnect");
      } finally {
        mine.disconnect();
        theirs.disconnect();
      }
    });
  });
});
