// Heartbeat scenarios over the three transport setups: an idle connection
// survives many ping intervals; a client that stops answering pings is closed
// by the server with reason "ping timeout".
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ClientPool,
  PING_INTERVAL,
  PING_TIMEOUT,
  SETUPS,
  collectMessages,
  connect,
  sleep,
  useServer,
  waitClose,
} from "./harness.mjs";

let server;
const pool = new ClientPool();
useServer({ events: true }, pool, (started) => {
  server = started;
});

/** Makes an engine.io-client socket silently drop its "pong" packets. */
function dropPongs(socket) {
  const state = { dropped: 0 };
  const original = socket._sendPacket;
  assert.equal(typeof original, "function", "engine.io-client Socket#_sendPacket not found (client version changed?)");
  socket._sendPacket = function (type, ...rest) {
    if (type === "pong") {
      state.dropped++;
      return;
    }
    return original.call(this, type, ...rest);
  };
  return state;
}

for (const setup of SETUPS) {
  describe(`heartbeat over ${setup.name}`, () => {
    test("an idle connection survives 10 ping intervals and still echoes", { timeout: 15_000 }, async () => {
      const socket = await connect(server, setup, pool);
      const sid = socket.id;
      let pings = 0;
      let closed = null;
      socket.on("ping", () => pings++);
      socket.on("close", (reason) => (closed = reason));

      await sleep(10 * PING_INTERVAL);

      assert.equal(closed, null, `client closed while idle: ${closed}`);
      assert.equal(socket.readyState, "open");
      assert.equal(socket.id, sid, "same session after idling");
      assert.equal(socket.transport.name, setup.transport);
      // the server pings every 300 ms: about 10 pings in 3 s
      assert.ok(pings >= 7, `expected >= 7 pings from the server in 3 s, got ${pings}`);
      assert.equal(
        server.events((ev) => ev.event === "close" && ev.sid === sid).length,
        0,
        "server reported a close for the idle session",
      );
      const echo = collectMessages(socket, 1, 3000, "echo after idling");
      socket.send("still there?");
      assert.deepEqual(await echo, ["still there?"]);
    });

    test('a client that stops answering pings is closed by the server with "ping timeout"', { timeout: 15_000 }, async (t) => {
      let state;
      const t0 = Date.now();
      const socket = await connect(server, setup, pool, { onCreate: (s) => (state = dropPongs(s)) });
      const sid = socket.id;
      const clientClosed = waitClose(socket, 3000, "client close after ping timeout");

      const ev = await server.waitFor(
        (e) => e.event === "close" && e.sid === sid,
        2000,
        `server close line for ${sid}`,
      );
      const elapsed = Date.now() - t0;
      assert.equal(ev.reason, "ping timeout");
      // first ping at ~300 ms after the handshake, then 200 ms to answer
      assert.ok(
        elapsed <= PING_INTERVAL + PING_TIMEOUT + 700,
        `server closed after ${elapsed} ms, expected about ${PING_INTERVAL + PING_TIMEOUT} ms`,
      );
      assert.ok(state.dropped >= 1, "the server never pinged (no pong was dropped)");
      const reason = await clientClosed;
      t.diagnostic(`server closed after ${elapsed} ms; client close reason: ${reason}`);
      assert.equal(socket.readyState, "closed", `client not closed (close reason ${reason})`);
    });
  });
}
