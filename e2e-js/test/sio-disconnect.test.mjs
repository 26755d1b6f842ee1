// Disconnections against the `sio-features` server, seen by the client
// (disconnect reason) and by the server (event lines): server-side
// socket.disconnect(close), client-side disconnect, a closed transport, a
// ping timeout, disconnectSockets on a room, and rooms left on disconnect.
import assert from "node:assert/strict";
import { describe } from "node:test";
import { sleep } from "./harness.mjs";
import {
  CONNECT_TIMEOUT,
  SIO_PING_INTERVAL,
  SIO_PING_TIMEOUT,
  SIO_SETUPS,
  ask,
  connectEngine,
  connectSio,
  createManager,
  dropPongs,
  sorted,
  useSioServer,
} from "./sio-harness.mjs";

const ctx = useSioServer("sio-features", { events: true });
const { pool, test } = ctx;

/** The server's `disconnect` line of socket `id` (bounded wait). */
function serverDisconnect(id, timeoutMs = 3000) {
  return ctx.server.waitFor((ev) => ev.event === "disconnect" && ev.id === id, timeoutMs, `disconnect line of ${id}`);
}

/** The server's `disconnecting` line of socket `id`. */
function serverDisconnecting(id, timeoutMs = 3000) {
  return ctx.server.waitFor((ev) => ev.event === "disconnecting" && ev.id === id, timeoutMs, `disconnecting line of ${id}`);
}

/** Asserts that the server reported no disconnection of `id` (so far). */
function assertNoServerDisconnect(id) {
  assert.deepEqual(
    ctx.server.events((ev) => (ev.event === "disconnect" || ev.event === "disconnecting") && ev.id === id),
    [],
    `the server reported a disconnection of ${id}`,
  );
}

/** Polls `cond` every 10 ms until it is true; throws after `timeoutMs`. */
async function until(cond, what, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Two sockets on one engine.io connection: "/" and "/empty". */
async function twoNamespaces(setup, label) {
  const manager = createManager(ctx.server, setup, pool);
  const root = await connectSio(ctx.server, setup, pool, { manager, label: `${label} /` });
  const empty = await connectSio(ctx.server, setup, pool, { manager, nsp: "/empty", label: `${label} /empty` });
  return { manager, root, empty };
}

for (const setup of SIO_SETUPS) {
  describe(`disconnections over ${setup.name}`, () => {
    test("the server sees connection lines with the socket's namespace and id", { timeout: 15_000 }, async () => {
      const { root, empty } = await twoNamespaces(setup, "x");
      await ctx.server.waitFor((ev) => ev.event === "connection" && ev.id === root.id, 3000, "connection line of /");
      const line = await ctx.server.waitFor((ev) => ev.event === "connection" && ev.id === empty.id, 3000, "connection line of /empty");
      assert.deepStrictEqual(line, { event: "connection", nsp: "/empty", id: empty.id });
    });

    test('socket.disconnect() on the server: "io server disconnect", other namespaces stay', { timeout: 15_000 }, async () => {
      const { manager, root, empty } = await twoNamespaces(setup, "x");
      const rootId = root.id;
      const engineId = manager.engine.id;
      root.emit("disconnect-me", false);
      assert.equal(await root.rec.waitDisconnect(3000), "io server disconnect");
      const line = await serverDisconnect(rootId);
      assert.deepStrictEqual(line, { event: "disconnect", nsp: "/", id: rootId, reason: "server namespace disconnect" });
      await sleep(2 * SIO_PING_INTERVAL);
      assert.equal(empty.connected, true, "the /empty socket of the same connection stays connected");
      assert.deepStrictEqual(empty.rec.disconnects, []);
      assertNoServerDisconnect(empty.id);
      assert.equal(manager.engine.readyState, "open");
      assert.equal(manager.engine.id, engineId);
      assert.equal(root.connected, false);
    });

    test('socket.disconnect(true) on the server ends every namespace of the connection', { timeout: 15_000 }, async () => {
      const { manager, root, empty } = await twoNamespaces(setup, "x");
      const [rootId, emptyId] = [root.id, empty.id];
      const engine = manager.engine;
      root.emit("disconnect-me", true);
      assert.equal(await root.rec.waitDisconnect(3000), "io server disconnect");
      assert.equal(await empty.rec.waitDisconnect(3000), "io server disconnect");
      assert.deepStrictEqual(await serverDisconnect(rootId), {
        event: "disconnect",
        nsp: "/",
        id: rootId,
        reason: "server namespace disconnect",
      });
      assert.deepStrictEqual(await serverDisconnect(emptyId), {
        event: "disconnect",
        nsp: "/empty",
        id: emptyId,
        reason: "server namespace disconnect",
      });
      const deadline = Date.now() + 3000;
      while (engine.readyState !== "closed" && Date.now() < deadline) await sleep(20);
      assert.equal(engine.readyState, "closed", "the engine.io connection is closed");
    });

    test("disconnect(true) closes the engine.io connection from the server side (raw engine.io client)", { timeout: 15_000 }, async (t) => {
      // with a raw engine.io client nothing closes the connection on the client side
      const engine = await connectEngine(ctx.server, setup, pool);
      const messages = [];
      engine.on("message", (m) => messages.push(String(m)));
      let closeReason = null;
      engine.on("close", (r) => (closeReason = r));
      engine.send("0");
      engine.send("0/empty,");
      await until(() => messages.some((m) => m.startsWith("0{")) && messages.some((m) => m.startsWith("0/empty,{")), "both CONNECT answers");
      engine.send('2["disconnect-me",true]');
      await until(() => closeReason !== null, "the server to close the engine.io connection");
      t.diagnostic(`client engine close reason "${closeReason}"; packets ${JSON.stringify(messages)}`);
      assert.ok(messages.includes("1"), 'a DISCONNECT for "/" before the close');
      assert.ok(messages.includes("1/empty,"), 'a DISCONNECT for "/empty" before the close');
      assert.equal(closeReason, "transport close");
    });

    test("disconnect(false) keeps the engine.io connection open (raw engine.io client)", { timeout: 15_000 }, async () => {
      const engine = await connectEngine(ctx.server, setup, pool);
      const messages = [];
      engine.on("message", (m) => messages.push(String(m)));
      let closeReason = null;
      engine.on("close", (r) => (closeReason = r));
      engine.send("0");
      engine.send("0/empty,");
      await until(() => messages.some((m) => m.startsWith("0{")) && messages.some((m) => m.startsWith("0/empty,{")), "both CONNECT answers");
      engine.send('2["disconnect-me",false]');
      await until(() => messages.includes("1"), 'the DISCONNECT for "/"');
      await sleep(CONNECT_TIMEOUT + 300); // longer than connectTimeout and several ping rounds
      assert.equal(closeReason, null, `the connection was closed: ${closeReason}`);
      assert.equal(engine.readyState, "open");
      assert.ok(!messages.includes("1/empty,"), '"/empty" was not disconnected');
      // the connection still serves "/": join it again
      engine.send("0");
      await until(() => messages.filter((m) => m.startsWith("0{")).length === 2, 'a second CONNECT answer for "/"');
    });

    test('socket.disconnect() on the client: "io client disconnect"; the server leaves every room', { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool, { label: "leaver" });
      const witness = await connectSio(ctx.server, setup, pool, { label: "witness" });
      const id = socket.id;
      await ask(socket, 3000, "join", "room-b");
      await ask(socket, 3000, "join", "room-a");
      await ask(witness, 3000, "join", "room-a");
      socket.disconnect();
      assert.deepStrictEqual(socket.rec.disconnects, ["io client disconnect"]);
      const disconnecting = await serverDisconnecting(id);
      assert.deepStrictEqual(disconnecting, {
        event: "disconnecting",
        nsp: "/",
        id,
        reason: "client namespace disconnect",
        rooms: sorted([id, "room-a", "room-b"]),
      });
      assert.deepStrictEqual(await serverDisconnect(id), {
        event: "disconnect",
        nsp: "/",
        id,
        reason: "client namespace disconnect",
      });
      // the rooms no longer hold the socket
      assert.deepStrictEqual(await ask(witness, 3000, "fetch", "room-a"), [witness.id]);
      assert.deepStrictEqual(await ask(witness, 3000, "fetch", "room-b"), []);
      assert.deepStrictEqual(await ask(witness, 3000, "fetch", id), []);
      assert.deepStrictEqual(await ask(witness, 3000, "rooms"), sorted([witness.id, "room-a"]));
    });

    test('closing the engine.io connection: the server sees "transport close"', { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      const id = socket.id;
      await ask(socket, 3000, "join", "tc");
      socket.io.engine.close();
      assert.equal(await socket.rec.waitDisconnect(3000), "forced close");
      const disconnecting = await serverDisconnecting(id);
      assert.equal(disconnecting.reason, "transport close");
      assert.deepStrictEqual(disconnecting.rooms, sorted([id, "tc"]));
      assert.equal((await serverDisconnect(id)).reason, "transport close");
    });

    test('a client that stops answering pings: the server sees "ping timeout"', { timeout: 15_000 }, async (t) => {
      const socket = await connectSio(ctx.server, setup, pool);
      const id = socket.id;
      const state = dropPongs(socket.io.engine);
      const t0 = Date.now();
      const line = await serverDisconnect(id, 3000);
      const elapsed = Date.now() - t0;
      assert.equal(line.reason, "ping timeout");
      assert.ok(state.dropped >= 1, "the server never pinged");
      assert.ok(
        elapsed <= SIO_PING_INTERVAL + SIO_PING_TIMEOUT + 700,
        `the server noticed after ${elapsed} ms, expected about ${SIO_PING_INTERVAL + SIO_PING_TIMEOUT} ms`,
      );
      const reason = await socket.rec.waitDisconnect(3000);
      t.diagnostic(`server noticed after ${elapsed} ms; client disconnect reason "${reason}"`);
      assert.equal(socket.connected, false);
    });

    test("disconnectSockets(false) on a room ends those namespace sockets only", { timeout: 15_000 }, async () => {
      const a = await connectSio(ctx.server, setup, pool, { label: "a" });
      const b = await twoNamespaces(setup, "b");
      const c = await connectSio(ctx.server, setup, pool, { label: "c" });
      const [aId, bId] = [a.id, b.root.id];
      await ask(a, 3000, "join", "doomed");
      await ask(b.root, 3000, "join", "doomed");
      c.emit("disconnect-room", "doomed", false);
      assert.equal(await a.rec.waitDisconnect(3000), "io server disconnect");
      assert.equal(await b.root.rec.waitDisconnect(3000), "io server disconnect");
      assert.equal((await serverDisconnect(aId)).reason, "server namespace disconnect");
      assert.equal((await serverDisconnect(bId)).reason, "server namespace disconnect");
      await sleep(2 * SIO_PING_INTERVAL);
      assert.equal(b.empty.connected, true, "b's /empty socket stays connected");
      assert.equal(b.manager.engine.readyState, "open");
      assertNoServerDisconnect(b.empty.id);
      assert.equal(c.connected, true);
      assert.deepStrictEqual(c.rec.disconnects, []);
      assert.deepStrictEqual(await ask(c, 3000, "fetch", "doomed"), []);
    });

    test("disconnectSockets(true) on a room also ends the other namespaces of those connections", { timeout: 15_000 }, async () => {
      const a = await connectSio(ctx.server, setup, pool, { label: "a" });
      const b = await twoNamespaces(setup, "b");
      const c = await twoNamespaces(setup, "c");
      const [aId, bId, bEmptyId] = [a.id, b.root.id, b.empty.id];
      const bEngine = b.manager.engine;
      await ask(a, 3000, "join", "doomed");
      await ask(b.root, 3000, "join", "doomed");
      c.root.emit("disconnect-room", "doomed", true);
      assert.equal(await a.rec.waitDisconnect(3000), "io server disconnect");
      assert.equal(await b.root.rec.waitDisconnect(3000), "io server disconnect");
      assert.equal(await b.empty.rec.waitDisconnect(3000), "io server disconnect");
      assert.equal((await serverDisconnect(aId)).reason, "server namespace disconnect");
      assert.equal((await serverDisconnect(bId)).reason, "server namespace disconnect");
      assert.deepStrictEqual(await serverDisconnect(bEmptyId), {
        event: "disconnect",
        nsp: "/empty",
        id: bEmptyId,
        reason: "server namespace disconnect",
      });
      const deadline = Date.now() + 3000;
      while (bEngine.readyState !== "closed" && Date.now() < deadline) await sleep(20);
      assert.equal(bEngine.readyState, "closed", "b's engine.io connection is closed");
      await sleep(2 * SIO_PING_INTERVAL);
      assert.equal(c.root.connected, true);
      assert.equal(c.empty.connected, true);
      assertNoServerDisconnect(c.root.id);
      assertNoServerDisconnect(c.empty.id);
    });
  });
}
