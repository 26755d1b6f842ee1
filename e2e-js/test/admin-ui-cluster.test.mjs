// The admin UI in a cluster: two of our sio-conformance servers and Node's reference server,
// each with the admin UI on (ADMIN_UI, its own ADMIN_SERVER_ID), on one Redis
// (@socket.io/redis-adapter 8.3 and ours). A UI logged in to one of ours sees every server's
// server_stats, the sockets of every server, events happening on Node's server, and its
// actions reach a socket on Node's server, as Node's UI does through its adapter.
//
// Needs redis-server on PATH and the sio-conformance binary (cargo build -p sio-conformance).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startServer } from "./harness.mjs";
import { startRedis } from "./redis-harness.mjs";
import { SIO_SETUPS, SioPool, connectSio } from "./sio-harness.mjs";

const WS = SIO_SETUPS[0];
const AUTH = { username: "admin", password: "pw" };

describe("admin UI across a Redis cluster of two Rust servers and a Node one", () => {
  let redis;
  const servers = {};
  const pool = new SioPool();

  before(async () => {
    redis = await startRedis();
    const env = (id) => ({ REDIS_URL: redis.url, ADMIN_UI: "admin:pw", ADMIN_SERVER_ID: id });
    [servers.r1, servers.r2, servers.node] = await Promise.all([
      startServer({ kind: "sio-conformance", env: env("r1") }),
      startServer({ kind: "sio-conformance", env: env("r2") }),
      startServer({ kind: "sio-conformance", env: env("node"), node: true }),
    ]);
  });

  after(async () => {
    await pool.closeAll(null);
    await Promise.all(Object.values(servers).map((s) => s?.stop()));
    await redis?.stop();
  });

  test("one UI sees every server, their sockets and events, and acts on any of them", { timeout: 30_000 }, async () => {
    const onNode = await connectSio(servers.node, WS, pool, { label: "on-node" });
    const onR2 = await connectSio(servers.r2, WS, pool, { label: "on-r2" });
    const admin = await connectSio(servers.r1, WS, pool, { nsp: "/admin", auth: AUTH, label: "admin" });

    // Every server's stats reach the UI on r1 (Node sends every 2 s).
    await admin.rec.until(
      () => ["r1", "r2", "node"].every((id) => admin.rec.has("server_stats", ([s]) => s.serverId === id)),
      8000,
      "server_stats from r1, r2 and node",
    );

    // all_sockets lists the sockets of the other servers (fetchSockets across the cluster).
    const [sockets] = await admin.rec.waitFor("all_sockets", 5000);
    const ids = sockets.map((s) => s.id);
    assert.ok(ids.includes(onNode.id), "the socket on Node's server");
    assert.ok(ids.includes(onR2.id), "the socket on r2");
    const nodeSocket = sockets.find((s) => s.id === onNode.id);
    assert.equal(nodeSocket.transport, "websocket", "Node's _admin data says its transport");

    // What happens on Node's server reaches the UI on ours.
    onNode.emit("message", "via redis");
    const received = await admin.rec.waitFor("event_received", 5000, ([, sid]) => sid === onNode.id);
    assert.deepEqual(received.slice(0, 3), ["/", onNode.id, ["message", "via redis"]]);

    // And what happens on r2.
    onR2.emit("message", "from r2");
    await admin.rec.waitFor("event_received", 5000, ([, sid, args]) => sid === onR2.id && args[1] === "from r2");

    // The UI's actions reach a socket on Node's server.
    admin.emit("join", "/", "ops", onNode.id);
    await admin.rec.waitFor("room_joined", 5000, ([, room, sid]) => room === "ops" && sid === onNode.id);
    admin.emit("emit", "/", "ops", "notice", "cluster");
    assert.deepEqual(await onNode.rec.waitFor("notice", 5000), ["cluster"]);
    const nodeId = onNode.id;
    admin.emit("_disconnect", "/", false, nodeId);
    assert.equal(await onNode.rec.waitDisconnect(5000), "io server disconnect");
    await admin.rec.waitFor("socket_disconnected", 5000, ([, sid]) => sid === nodeId);
  });
});
