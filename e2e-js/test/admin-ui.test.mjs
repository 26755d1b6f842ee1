// The admin UI's protocol (@socket.io/admin-ui 0.5), spoken by socket.io-client as the UI
// speaks it, against sio-conformance with ADMIN_UI (examples/sio-conformance/src/admin.rs;
// Node: reference/sio-conformance.mjs with instrument()). SIO_SERVER=node runs the same
// tests against Node's instrument, so both agree.
import assert from "node:assert/strict";
import { describe } from "node:test";
import { ABSENCE_MS, SIO_SETUPS, ask, connectSio, openSio, useSioServer } from "./sio-harness.mjs";

const USER = "admin";
const PASSWORD = "s3cret:with-colon";
const WS = SIO_SETUPS[0];
const POLLING = SIO_SETUPS[1];
const UPGRADE = SIO_SETUPS[2];

const ctx = useSioServer("sio-conformance", { env: { ADMIN_UI: `${USER}:${PASSWORD}` } });
const ro = useSioServer("sio-conformance", { env: { ADMIN_UI: `${USER}:${PASSWORD}`, ADMIN_READONLY: "1" } });
const prod = useSioServer("sio-conformance", { env: { ADMIN_UI: `${USER}:${PASSWORD}`, ADMIN_MODE: "production" } });
const { test } = ctx;

const login = (c, auth = { username: USER, password: PASSWORD }) =>
  connectSio(c.server, WS, c.pool, { nsp: "/admin", auth, label: "admin" });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isDate = (s) => typeof s === "string" && !Number.isNaN(Date.parse(s)) && s.endsWith("Z");

describe("admin UI protocol", () => {
  test("login: session, config with every feature, all_sockets with a client's socket", { timeout: 15_000 }, async () => {
    const client = await connectSio(ctx.server, WS, ctx.pool, { label: "client" });
    await ask(client, 3000, "join", "lobby");
    const admin = await login(ctx);
    const [session] = await admin.rec.waitFor("session", 3000);
    assert.match(session, /^[0-9a-f]{16}$/);
    const [config] = await admin.rec.waitFor("config", 3000);
    assert.deepEqual(config.supportedFeatures, [
      "EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS",
    ]);
    const [sockets] = await admin.rec.waitFor("all_sockets", 3000);
    const mine = sockets.find((s) => s.id === client.id);
    assert.ok(mine, `the client's socket among ${JSON.stringify(sockets.map((s) => s.id))}`);
    assert.equal(mine.nsp, "/");
    assert.equal(mine.transport, "websocket");
    assert.equal(typeof mine.clientId, "string");
    assert.equal(mine.clientId.length, 12);
    assert.deepEqual([...mine.rooms].sort(), [client.id, "lobby"].sort());
    assert.deepEqual(mine.data, {});
    assert.match(mine.handshake.url, /^\/socket\.io\/\?/);
    assert.equal(typeof mine.handshake.headers, "object");
    assert.equal(mine.handshake.query.EIO, "4");
    // Node's handshake.time is Date#toString(), in the server's zone (UTC here).
    assert.match(mine.handshake.time, /^\w{3} \w{3} \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT[+-]\d{4} \(.+\)$/);
    assert.equal(typeof mine.handshake.issued, "number");
    assert.ok(sockets.some((s) => s.id === admin.id && s.nsp === "/admin"), "the admin's own socket is listed");

    // The session id logs in again without the password, as the UI does on reconnect.
    const again = await login(ctx, { sessionId: session });
    await again.rec.waitFor("config", 3000);
    assert.ok(!again.rec.has("session"), "no new session for a known one");
  });

  test("a wrong password, an unknown user, no auth and a made-up session are refused", { timeout: 15_000 }, async () => {
    for (const auth of [
      { username: USER, password: "wrong" },
      { username: "root", password: PASSWORD },
      {},
      { sessionId: "0123456789abcdef" },
      // Node's bcryptjs throws on a password that is no string, and its server never answers.
      ...(process.env.SIO_SERVER === "node" ? [] : [{ username: USER, password: 42 }]),
    ]) {
      const s = openSio(ctx.server, WS, ctx.pool, { nsp: "/admin", auth, label: "intruder" });
      const err = await s.rec.waitConnectError(3000);
      assert.equal(err.message, "invalid credentials", JSON.stringify(auth));
      assert.ok(!s.rec.has("config"));
    }
  });

  test("server_stats: this server, its namespaces and aggregated counts", { timeout: 15_000 }, async () => {
    const admin = await login(ctx);
    const client = await connectSio(ctx.server, WS, ctx.pool, { label: "client" });
    client.emit("message", "counted");
    // Node sends every 2 s; ours every 500 ms here. Wait for one that counts the client: the
    // recorder also holds any sent before it connected, already with the admin's own packets.
    const [stats] = await admin.rec.waitFor(
      "server_stats",
      6000,
      ([s]) =>
        s.clientsCount >= 2 &&
        s.namespaces.some((n) => n.name === "/" && n.socketsCount >= 1) &&
        s.aggregatedEvents.some((e) => e.type === "packetsIn"),
    );
    assert.equal(stats.serverId, process.env.SIO_SERVER === "node" ? "node" : "rust");
    assert.equal(typeof stats.hostname, "string");
    assert.equal(typeof stats.pid, "number");
    assert.equal(typeof stats.uptime, "number");
    assert.ok(stats.clientsCount >= 2, `clientsCount ${stats.clientsCount}`);
    assert.equal(stats.pollingClientsCount, 0);
    const names = stats.namespaces.map((n) => n.name);
    for (const n of ["/", "/custom", "/admin"]) assert.ok(names.includes(n), `${n} in ${names}`);
    assert.ok(stats.namespaces.find((n) => n.name === "/").socketsCount >= 1);
    for (const e of stats.aggregatedEvents) {
      assert.equal(typeof e.timestamp, "number");
      assert.equal(e.timestamp % 1000, 0);
      assert.equal(typeof e.type, "string");
      assert.ok(e.count >= 1);
    }
  });

  test("a socket's life: connected, its events both ways, its room, its departure", { timeout: 15_000 }, async () => {
    const admin = await login(ctx);
    await admin.rec.waitFor("all_sockets", 3000);
    const client = await connectSio(ctx.server, WS, ctx.pool, { label: "client" });
    const id = client.id;
    const [socket, at] = await admin.rec.waitFor("socket_connected", 3000, ([s]) => s.id === id);
    assert.equal(socket.nsp, "/");
    assert.equal(socket.transport, "websocket");
    assert.ok(socket.rooms.includes(id));
    assert.ok(isDate(at), at);

    client.emit("message", "hi", { n: 1 });
    const received = await admin.rec.waitFor("event_received", 3000, ([, sid]) => sid === id);
    assert.deepEqual(received.slice(0, 3), ["/", id, ["message", "hi", { n: 1 }]]);
    assert.ok(isDate(received[3]));
    const sent = await admin.rec.waitFor("event_sent", 3000, ([, sid, [ev]]) => sid === id && ev === "message-back");
    assert.deepEqual(sent.slice(0, 3), ["/", id, ["message-back", "hi", { n: 1 }]]);

    await ask(client, 3000, "join", "r-life");
    const joined = await admin.rec.waitFor("room_joined", 3000, ([, room, sid]) => sid === id && room === "r-life");
    assert.equal(joined[0], "/");
    assert.ok(isDate(joined[3]));

    client.disconnect();
    const gone = await admin.rec.waitFor("socket_disconnected", 3000, ([, sid]) => sid === id);
    assert.deepEqual(gone.slice(0, 3), ["/", id, "client namespace disconnect"]);
    const left = await admin.rec.waitFor("room_left", 3000, ([, room, sid]) => sid === id && room === "r-life");
    assert.equal(left[0], "/");
  });

  test("socket_updated when a client upgrades from polling", { timeout: 15_000 }, async () => {
    const admin = await login(ctx);
    await admin.rec.waitFor("config", 3000);
    const client = await connectSio(ctx.server, UPGRADE, ctx.pool, { label: "client" });
    const [update] = await admin.rec.waitFor("socket_updated", 5000, ([u]) => u.id === client.id);
    assert.deepEqual(update, { id: client.id, nsp: "/", transport: "websocket" });
  });

  test("the operator's actions: join, emit to a room, leave, disconnect", { timeout: 15_000 }, async () => {
    const admin = await login(ctx);
    await admin.rec.waitFor("config", 3000);
    const a = await connectSio(ctx.server, WS, ctx.pool, { label: "a" });
    const b = await connectSio(ctx.server, WS, ctx.pool, { label: "b" });

    admin.emit("join", "/", "ops", a.id);
    await admin.rec.waitFor("room_joined", 3000, ([nsp, room, sid]) => nsp === "/" && room === "ops" && sid === a.id);
    admin.emit("emit", "/", "ops", "notice", "from the UI", 7);
    assert.deepEqual(await a.rec.waitFor("notice", 3000), ["from the UI", 7]);
    await sleep(ABSENCE_MS);
    assert.ok(!b.rec.has("notice"), "b is not in the room");

    admin.emit("emit", "/", undefined, "everyone", 1);
    await Promise.all([a.rec.waitFor("everyone", 3000), b.rec.waitFor("everyone", 3000)]);

    admin.emit("leave", "/", "ops", a.id);
    await admin.rec.waitFor("room_left", 3000, ([, room, sid]) => room === "ops" && sid === a.id);

    const bId = b.id; // the client forgets it on disconnection
    admin.emit("_disconnect", "/", false, bId);
    assert.equal(await b.rec.waitDisconnect(3000), "io server disconnect");
    const [, , reason] = await admin.rec.waitFor("socket_disconnected", 3000, ([, sid]) => sid === bId);
    assert.equal(reason, "server namespace disconnect");
    assert.ok(a.connected, "a stays");

    // Requests the server cannot act on change nothing and break nothing.
    admin.emit("join", "/nowhere", "x");
    admin.emit("_disconnect");
    admin.emit("emit", 1, 2, 3);
    await ask(a, 3000, "join", "still-fine");
  });
});

describe("admin UI protocol, read-only", () => {
  ro.test("config offers no action, and the actions do nothing", { timeout: 15_000 }, async () => {
    const admin = await login(ro);
    const [config] = await admin.rec.waitFor("config", 3000);
    assert.deepEqual(config.supportedFeatures, ["AGGREGATED_EVENTS", "ALL_EVENTS"]);
    const client = await connectSio(ro.server, WS, ro.pool, { label: "client" });
    await admin.rec.waitFor("socket_connected", 3000, ([s]) => s.id === client.id);
    admin.emit("join", "/", "ro-room", client.id);
    admin.emit("emit", "/", client.id, "notice", 1);
    admin.emit("_disconnect", "/", true, client.id);
    await sleep(ABSENCE_MS * 2);
    assert.ok(client.connected, "still connected");
    assert.ok(!client.rec.has("notice"));
    assert.ok(!admin.rec.has("room_joined", ([, room]) => room === "ro-room"));
  });
});

describe("admin UI protocol, production mode", () => {
  prod.test("aggregated stats only: no socket list, no socket or event news", { timeout: 15_000 }, async () => {
    const admin = await login(prod);
    const [config] = await admin.rec.waitFor("config", 3000);
    assert.deepEqual(config.supportedFeatures, [
      "EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS",
    ]);
    const client = await connectSio(prod.server, WS, prod.pool, { label: "client" });
    client.emit("message", "counted, not shown");
    await client.rec.waitFor("message-back", 3000);
    await ask(client, 3000, "join", "quiet");
    // Node sends stats every 2 s; ours every 500 ms here.
    const [stats] = await admin.rec.waitFor("server_stats", 6000, ([s]) =>
      s.aggregatedEvents.some((e) => e.type === "packetsIn"),
    );
    assert.ok(stats.aggregatedEvents.some((e) => e.type === "rawConnection"));
    for (const event of ["all_sockets", "socket_connected", "event_received", "event_sent", "room_joined"]) {
      assert.ok(!admin.rec.has(event), `no ${event} in production mode`);
    }
  });

  prod.test("the engine's counts: a polling connection while it lasts, its messages and bytes, why it closed", { timeout: 20_000 }, async () => {
    const admin = await login(prod);
    await admin.rec.waitFor("config", 3000);
    const since = admin.rec.received.length;
    const stats = () => admin.rec.received.slice(since).filter((r) => r.event === "server_stats").map((r) => r.args[0]);
    const total = (type, subType) =>
      stats()
        .flatMap((s) => s.aggregatedEvents)
        .filter((e) => e.type === type && (subType === undefined || e.subType === subType))
        .reduce((sum, e) => sum + e.count, 0);

    const client = await connectSio(prod.server, POLLING, prod.pool, { label: "polling" });
    await admin.rec.until(() => stats().some((s) => s.pollingClientsCount === 1), 6000, "a polling client counted");
    const big = "x".repeat(5000);
    for (let i = 0; i < 3; i++) client.emit("message", big);
    await client.rec.waitForCount("message-back", 3, 3000);
    // Counted per engine message: its CONNECT, three events in; the CONNECT's answer and three
    // events out; bytes as the messages' own.
    await admin.rec.until(() => total("bytesIn") >= 15_000 && total("bytesOut") >= 15_000, 6000, "the bytes counted");
    assert.ok(total("packetsIn") >= 4, `packetsIn ${total("packetsIn")}`);
    assert.ok(total("packetsOut") >= 4, `packetsOut ${total("packetsOut")}`);
    assert.ok(total("rawConnection") >= 1, `rawConnection ${total("rawConnection")}`);

    client.close();
    await admin.rec.until(
      () => total("rawDisconnection", "transport close") >= 1 && stats().at(-1).pollingClientsCount === 0,
      6000,
      "the polling client's departure counted",
    );
  });
});
