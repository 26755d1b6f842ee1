// Connection state recovery across a mixed cluster on Redis Streams: two of our sio-conformance
// servers and Node's reference (socket.io 4.8 with @socket.io/redis-streams-adapter 0.3.1), all
// with REDIS_STREAMS_URL and RECOVERY_MS, on one redis-server of this test. The official client
// (socket.io-client 4.8) drops its connection (engine.close(): "transport close" for the
// server), and comes back to another server of the cluster:
//   - a session kept by ours is restored by Node's, and one kept by Node's by ours, with the
//     same id, its rooms, its data, and every event it missed, in order, binary intact;
//   - the server it was on is killed (SIGKILL) while it is away: another server restores it;
//   - Redis restarts while it is away (the sessions are gone): a fresh session, promptly.
// With SIO_SERVER=node every server is Node's.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient } from "redis";
import { io } from "socket.io-client";
import { sioSkipReason, startServer, withTimeout } from "./harness.mjs";
import { startRedis } from "./redis-harness.mjs";
import { Recorder, emitAck } from "./sio-harness.mjs";

const RECOVERY_MS = "20000";
const WAIT = 5000;
const skip = sioSkipReason("sio-conformance");

describe("recovery across a mixed cluster on Redis Streams", { skip: skip ?? false }, () => {
  let redis, redisClient, ours, node;
  const sockets = [];

  const env = () => ({ REDIS_STREAMS_URL: redis.url, RECOVERY_MS });
  const start = (which) =>
    startServer({ kind: "sio-conformance", env: env(), node: which === "node" });

  before(async () => {
    redis = await startRedis();
    redisClient = createClient({ url: redis.url });
    // Redis restarts in a test: the client's reconnection is not an error here.
    redisClient.on("error", () => {});
    await redisClient.connect();
    ours = [await start("ours"), await start("ours")];
    node = await start("node");
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await Promise.allSettled([...ours, node].map((server) => server?.stop()));
    await redisClient?.quit().catch(() => {});
    await redis?.stop();
  });

  /** A connected client of `server` that reconnects only when told to. */
  async function connect(server, auth) {
    const socket = io(server.url, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      ...(auth ? { auth } : {}),
    });
    sockets.push(socket);
    socket.rec = new Recorder(socket, server.url);
    await withTimeout(new Promise((resolve) => socket.once("connect", resolve)), WAIT, `connect to ${server.url}`);
    return socket;
  }

  /** Drops `socket`'s connection and waits until its server has kept the session in Redis. */
  async function drop(socket) {
    const pid = socket._pid;
    assert.ok(pid, "recovery gave the client a pid");
    socket.io.engine.close();
    const deadline = Date.now() + WAIT;
    while (!(await redisClient.exists(`sio:session:${pid}`))) {
      assert.ok(Date.now() < deadline, "the session was never kept in Redis");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Reconnects `socket` to `server`, as the client would after a drop. */
  async function reconnect(socket, server) {
    socket.io.uri = server.url;
    const connected = new Promise((resolve) => socket.once("connect", resolve));
    socket.connect();
    await withTimeout(connected, WAIT, `reconnect to ${server.url}`);
  }

  /** Waits for the "auth" the connection handler sends a socket that connected after `before`
   * events: the replay came before it. */
  const settled = (socket, before) =>
    socket.rec.until(
      () => socket.rec.received.slice(before).some((r) => r.event === "auth"),
      WAIT,
      "the connection handler's auth",
    );

  /** Emits the contract's `event` from `socket` and waits for its ack. */
  const call = (socket, event, ...args) => emitAck(socket, WAIT, event, ...args);

  async function recoversAcross(from, to) {
    const client = await connect(from);
    const sender = await connect(ours[1]);
    await call(client, "join", "r1");
    await call(client, "set-data", { user: "ann" });
    await call(sender, "broadcast", "seen");
    await client.rec.waitFor("broadcast", WAIT, (args) => args[0] === "seen");
    const id = client.id;
    await drop(client);

    // While it is away, from every server: to all, to its room, binary, to a room it is not
    // in. (Not volatile: Node's streams adapter replays volatile broadcasts on a restore, ours
    // does not; the adapters' own tests cover that.)
    // Each is in the stream once a witness on yet another server has it: the order of the
    // stream is the cluster's, and an ack can come before the entry is written.
    const bytes = Buffer.from([0, 1, 2, 255]);
    const others = [await connect(ours[0]), await connect(node)];
    const witness = await connect(from === node ? ours[1] : node);
    await call(witness, "join", "r1");
    const sent = async (socket, event, ...args) => {
      await call(socket, event, ...args);
      const name = event === "to-room" ? "room" : "broadcast";
      const first = event === "to-room" ? args[1] : args[0];
      await witness.rec.waitFor(name, WAIT, (got) => got[0] === first);
    };
    await sent(others[0], "broadcast", "m1");
    await sent(others[1], "to-room", "r1", "m2");
    await sent(sender, "broadcast", "m3", bytes);
    await call(others[1], "to-room", "elsewhere", "never");
    const before = client.rec.received.length;

    await reconnect(client, to);
    assert.equal(client.recovered, true, "the client sees its session recovered");
    assert.equal(client.id, id, "the same socket id");
    // The connection handler's own "auth" comes after the replay; it was not missed.
    await settled(client, before);
    const missed = client.rec.received.slice(before).filter((r) => r.event !== "auth");
    assert.deepEqual(
      missed.map((r) => [r.event, r.args[0]]),
      [
        ["broadcast", "m1"],
        ["room", "m2"],
        ["broadcast", "m3"],
      ],
      "what it missed, once each, in order",
    );
    assert.deepEqual(Buffer.from(missed[2].args[1]), bytes, "binary intact");
    assert.deepEqual(await call(client, "get-data"), [{ user: "ann" }], "its data");
    assert.deepEqual(await call(client, "get-recovered"), [true]);
    await call(others[1], "to-room", "r1", "after");
    await client.rec.waitFor("room", WAIT, (args) => args[0] === "after");
    for (const socket of [client, sender, witness, ...others]) socket.close();
  }

  test("a session kept by ours is restored by Node's", { timeout: 30_000 }, () => recoversAcross(ours[0], node));

  test("a session kept by Node's is restored by ours", { timeout: 30_000 }, () => recoversAcross(node, ours[0]));

  test("the server it was on is killed while it is away: another restores it", { timeout: 30_000 }, async () => {
    const victim = await start("ours");
    const client = await connect(victim);
    await call(client, "join", "r2");
    const sender = await connect(node);
    await call(sender, "broadcast", "seen");
    await client.rec.waitFor("broadcast", WAIT, (args) => args[0] === "seen");
    const id = client.id;
    await drop(client);
    victim.signal("SIGKILL");
    await call(sender, "to-room", "r2", "while-dead");
    const before = client.rec.received.length;
    await reconnect(client, ours[1]);
    assert.equal(client.recovered, true);
    assert.equal(client.id, id);
    await settled(client, before);
    assert.deepEqual(
      client.rec.received
        .slice(before)
        .filter((r) => r.event !== "auth")
        .map((r) => [r.event, r.args[0]]),
      [["room", "while-dead"]],
    );
    await victim.stop();
    client.close();
    sender.close();
  });

  test("Redis restarts while it is away: a fresh session, promptly", { timeout: 40_000 }, async () => {
    const client = await connect(ours[0]);
    const sender = await connect(ours[1]);
    await call(sender, "broadcast", "seen");
    await client.rec.waitFor("broadcast", WAIT, (args) => args[0] === "seen");
    const id = client.id;
    await drop(client);
    await redisClient.disconnect();
    await redis.stop();
    redis = await startRedis(redis.port);
    redisClient = createClient({ url: redis.url });
    redisClient.on("error", () => {});
    await redisClient.connect();
    const started = Date.now();
    await reconnect(client, ours[1]);
    assert.equal(client.recovered, false, "nothing to recover: the session went with Redis");
    assert.notEqual(client.id, id);
    assert.ok(Date.now() - started < WAIT, `answered in ${Date.now() - started} ms`);
    // And the cluster works again once its connections are back.
    await withTimeout(
      (async () => {
        for (;;) {
          sender.emit("broadcast", "again");
          const got = await Promise.race([
            client.rec.waitFor("broadcast", 500, (args) => args[0] === "again").then(() => true),
            new Promise((resolve) => setTimeout(() => resolve(false), 600)),
          ]).catch(() => false);
          if (got) return;
        }
      })(),
      15_000,
      "a broadcast across the cluster after Redis came back",
    );
    client.close();
    sender.close();
  });
});
