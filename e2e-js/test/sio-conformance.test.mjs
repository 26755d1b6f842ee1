// socket.io v5 conformance with the real socket.io-client against the
// `sio-conformance` server (reference/sio-conformance.mjs), over websocket
// only, polling only, and polling with upgrade.
import assert from "node:assert/strict";
import { describe } from "node:test";
import { sleep } from "./harness.mjs";
import {
  CONNECT_TIMEOUT,
  SIO_SETUPS,
  assertSameArgs,
  awaitTransport,
  connectEngine,
  connectSio,
  createManager,
  emitAck,
  openSio,
  useSioServer,
} from "./sio-harness.mjs";

const ctx = useSioServer("sio-conformance");
const { pool, test } = ctx;

/** Argument lists for message / message-with-ack: JSON and binary, nested. */
function argSets() {
  const bytes = (...b) => Buffer.from(b);
  return [
    ["hello"],
    [""],
    ["héllo wörld ✓ 日本語 🌍"],
    [42],
    [-3.5],
    [0],
    [true, false, null],
    [{ a: 1, b: [true, null, "x"], c: { d: { e: "deep" } } }],
    [[1, "two", { three: 3 }]],
    ["several", 1, { b: 2 }, [3], null],
    [], // no arguments at all
    [bytes(1, 2, 3)],
    [Buffer.alloc(0)],
    [{ bin: bytes(0xde, 0xad, 0xbe, 0xef), nested: { deep: [bytes(0), "s", bytes(255, 254)] } }],
    [[bytes(1), bytes(2), { third: bytes(3, 3, 3) }]],
    ["text", bytes(9, 8, 7), 5, { b: bytes(0x1e, 0x30) }],
    [{ _placeholder: true, num: 0 }], // looks like a binary placeholder, but is plain JSON
    [new Uint8Array(1000).map((_, i) => i % 256)],
  ];
}

for (const setup of SIO_SETUPS) {
  describe(`sio-conformance over ${setup.name}`, () => {
    test('connecting to "/" emits "auth" with the auth payload', { timeout: 15_000 }, async () => {
      const auth = { token: "abc", n: 1, nested: { list: [1, "2", null] } };
      const socket = await connectSio(ctx.server, setup, pool, { auth });
      assert.equal(socket.connected, true);
      const [got, ...rest] = await socket.rec.waitFor("auth", 3000);
      assert.deepStrictEqual(got, auth);
      assert.equal(rest.length, 0);
    });

    test('connecting without auth emits "auth" with {}', { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      assert.deepStrictEqual(await socket.rec.waitFor("auth", 3000), [{}]);
    });

    test('connecting to "/custom" emits "auth" with the auth payload', { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool, { nsp: "/custom", auth: { custom: "yes" } });
      assert.equal(socket.nsp, "/custom");
      assert.deepStrictEqual(await socket.rec.waitFor("auth", 3000), [{ custom: "yes" }]);
    });

    test('"message" comes back as "message-back" with the same arguments (JSON and binary)', { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      const sets = argSets();
      for (const args of sets) socket.emit("message", ...args);
      const got = await socket.rec.waitForCount("message-back", sets.length, 5000);
      sets.forEach((args, i) => assertSameArgs(got[i], args, `message-back #${i}`));
      // binary comes back as binary (a Buffer in Node), not as text or a placeholder
      assert.ok(Buffer.isBuffer(got[11][0]), `binary arrived as ${Object.prototype.toString.call(got[11][0])}`);
      assert.ok(Buffer.isBuffer(got[13][0].nested.deep[2]), "nested binary arrived as binary");
      assert.deepStrictEqual(got[16], [{ _placeholder: true, num: 0 }]);
    });

    test('"message-with-ack" is acknowledged with the same arguments (JSON and binary)', { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      const sets = argSets();
      const acks = await Promise.all(sets.map((args) => emitAck(socket, 5000, "message-with-ack", ...args)));
      sets.forEach((args, i) => assertSameArgs(acks[i], args, `ack #${i}`));
      assert.ok(Buffer.isBuffer(acks[11][0]), "binary ack argument arrived as binary");
      // no "message-back" for acked messages
      assert.equal(socket.rec.all("message-back").length, 0);
    });

    test('an unknown namespace "/nope" gets connect_error "Invalid namespace"', { timeout: 15_000 }, async () => {
      const socket = openSio(ctx.server, setup, pool, { nsp: "/nope" });
      const err = await socket.rec.waitConnectError(5000);
      assert.equal(err.message, "Invalid namespace");
      assert.equal(socket.connected, false);
      assert.equal(socket.rec.connects, 0, "the socket must never have been connected");
      assert.equal(socket.rec.has("auth"), false);
    });

    test("an engine.io connection that joins no namespace is closed after connectTimeout", { timeout: 15_000 }, async (t) => {
      const engine = await connectEngine(ctx.server, setup, pool);
      const opened = engine.openedAt;
      const reason = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(null), CONNECT_TIMEOUT + 1500);
        engine.once("close", (r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
      const elapsed = Date.now() - opened;
      assert.notEqual(reason, null, `still open ${elapsed} ms after the engine.io handshake`);
      t.diagnostic(`closed ${elapsed} ms after open, client reason "${reason}"`);
      // the server's timer starts at its handshake, slightly before the client's open
      assert.ok(elapsed >= CONNECT_TIMEOUT - 150, `closed too early: after ${elapsed} ms`);
      assert.ok(elapsed <= CONNECT_TIMEOUT + 500, `closed too late: after ${elapsed} ms`);
      assert.equal(reason, "transport close");
    });

    test("a CONNECT sent before connectTimeout keeps the engine.io connection open", { timeout: 15_000 }, async () => {
      const engine = await connectEngine(ctx.server, setup, pool);
      let closed = null;
      engine.on("close", (r) => (closed = r));
      const messages = [];
      engine.on("message", (m) => messages.push(m));
      await sleep(CONNECT_TIMEOUT / 2);
      engine.send("0"); // socket.io CONNECT to "/" without auth
      const deadline = Date.now() + 3000;
      while (messages.length < 2 && Date.now() < deadline) await sleep(20);
      assert.match(String(messages[0]), /^0\{"sid":"[^"]+"\}$/, "CONNECT answer");
      assert.equal(messages[1], '2["auth",{}]', 'the "auth" event');
      await sleep(CONNECT_TIMEOUT + 300);
      assert.equal(closed, null, `closed although a namespace was joined: ${closed}`);
      assert.equal(engine.readyState, "open");
    });

    test('one engine.io connection multiplexes "/" and "/custom"; socket ids differ from the engine id', { timeout: 15_000 }, async () => {
      const manager = createManager(ctx.server, setup, pool);
      const root = await connectSio(ctx.server, setup, pool, { manager, auth: { which: "root" } });
      const custom = await connectSio(ctx.server, setup, pool, { manager, nsp: "/custom", auth: { which: "custom" } });
      assert.equal(root.io, custom.io, "same Manager");
      await awaitTransport(manager, setup);
      const engineId = manager.engine.id;
      assert.equal(typeof engineId, "string");
      assert.ok(engineId.length > 0);
      assert.deepStrictEqual(await root.rec.waitFor("auth", 3000), [{ which: "root" }]);
      assert.deepStrictEqual(await custom.rec.waitFor("auth", 3000), [{ which: "custom" }]);
      assert.equal(typeof root.id, "string");
      assert.equal(typeof custom.id, "string");
      assert.notEqual(root.id, engineId, "the / socket id must not be the engine id");
      assert.notEqual(custom.id, engineId, "the /custom socket id must not be the engine id");
      assert.notEqual(root.id, custom.id);
      assert.deepStrictEqual(await emitAck(root, 3000, "message-with-ack", "via root"), ["via root"]);
      assert.equal(manager.engine.id, engineId, "still the same engine");
    });

    test('leaving "/custom" keeps the "/" socket of the same connection connected', { timeout: 15_000 }, async () => {
      const manager = createManager(ctx.server, setup, pool);
      const root = await connectSio(ctx.server, setup, pool, { manager });
      const custom = await connectSio(ctx.server, setup, pool, { manager, nsp: "/custom" });
      await awaitTransport(manager, setup);
      const engineId = manager.engine.id;
      await custom.rec.waitFor("auth", 3000);
      custom.disconnect();
      assert.equal(custom.connected, false);
      assert.deepStrictEqual(custom.rec.disconnects, ["io client disconnect"]);
      // two ping rounds later the rest of the connection is intact
      await sleep(700);
      assert.equal(root.connected, true);
      assert.deepStrictEqual(root.rec.disconnects, []);
      assert.equal(manager.engine.readyState, "open");
      assert.equal(manager.engine.id, engineId);
      root.emit("message", "still here");
      assert.deepStrictEqual(await root.rec.waitFor("message-back", 3000), ["still here"]);
      // and "/custom" can be joined again on the same connection
      custom.connect();
      await custom.rec.waitForCount("auth", 2, 3000);
      assert.equal(custom.connected, true);
      assert.equal(manager.engine.id, engineId);
    });
  });
}
