// Connection state recovery at scale: 1,000 clients (socket.io-client 4.8) drop at the same
// moment, as when a load balancer or a Wi-Fi access point goes away, and all come back in the
// same tick once three broadcasts have gone out: the harshest case, a thousand CONNECTs carrying
// {pid, offset} at once (the client's own backoff would spread them over a second). Every one
// must come back as the same socket, with the broadcasts sent while it was away, once each and
// in order.
//
// The server is sio-conformance with RECOVERY_MS. Heartbeats are 2 s / 5 s rather than the
// contract's 300 ms / 200 ms: with 1,000 clients in this one Node process, the test's own event
// loop answers pings late under a reconnection storm (against Node's server too), and this file
// is about recovery, not heartbeats (heartbeat.test.mjs holds those to the contract). For the
// same reason the connect timeout is Node's default (45 s), not the contract's 1 s: a client
// sends its CONNECT once this process's loop gets to its handshake's answer, ~100 ms into a
// burst of 100 polling clients on an idle machine (ours and Node's alike), and more than a
// second on a loaded one, where the server then closes the connection ("transport close").
// Checked against Node's socket.io too (SIO_SERVER=node).
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { withTimeout } from "./harness.mjs";
import { SIO_PATH, emitAck, useSioServer } from "./sio-harness.mjs";

const CLIENTS = 1000;
const BATCH = 100;
const WAIT = 20_000;
const ctx = useSioServer("sio-conformance", {
  env: { RECOVERY_MS: "15000", PING_INTERVAL_MS: "2000", PING_TIMEOUT_MS: "5000", CONNECT_TIMEOUT_MS: "45000" },
});
const { test } = ctx;

/** A client whose events (and the moments it connects and drops) are counted, not kept whole. */
function open(transports) {
  const socket = io(ctx.server.url, { path: SIO_PATH, transports, forceNew: true, reconnection: false });
  socket.seen = [];
  socket.connects = 0;
  socket.disconnects = [];
  socket.onAny((event, ...args) => socket.seen.push(event === "broadcast" ? args[0] : event));
  socket.on("connect", () => socket.connects++);
  socket.on("disconnect", (reason) => socket.disconnects.push(reason));
  return socket;
}

/** Resolves once every socket satisfies `cond`, checked every 50 ms; says which do not. */
async function all(sockets, cond, what) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const late = sockets.filter((s) => !cond(s));
    if (late.length === 0) return;
    if (Date.now() > deadline) {
      const s = late[0];
      assert.fail(
        `${late.length} of ${sockets.length} clients still not ${what}; the first: connects ${s.connects}, ` +
          `disconnects ${JSON.stringify(s.disconnects)}, seen ${JSON.stringify(s.seen)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const transports of [["websocket"], ["polling"]]) {
  const clients = transports[0] === "websocket" ? CLIENTS : CLIENTS / 5;
  test(`${clients} clients over ${transports[0]} drop at once and all recover`, { timeout: 120_000 }, async () => {
    const sockets = [];
    const sender = open(["websocket"]);
    try {
      for (let b = 0; b < clients; b += BATCH) {
        const batch = Array.from({ length: Math.min(BATCH, clients - b) }, () => open(transports));
        sockets.push(...batch);
        // Each is connected once its connection handler's "auth" came: it has an offset.
        await all(batch, (s) => s.seen.includes("auth"), "connected");
      }
      await all([sender], (s) => s.connected, "connected");
      await withTimeout(emitAck(sender, WAIT, "broadcast", "before"), WAIT, "broadcast before");
      await all(sockets, (s) => s.seen.includes("before"), "given the first broadcast");
      const ids = sockets.map((s) => s.id);

      // Everyone drops in the same tick; the server sees "transport close" for each.
      for (const s of sockets) s.io.engine.close();
      await all(sockets, (s) => s.disconnects.length === 1, "disconnected");
      const marks = sockets.map((s) => s.seen.length);
      for (const word of ["away-1", "away-2", "away-3"]) {
        await withTimeout(emitAck(sender, WAIT, "broadcast", word), WAIT, `broadcast ${word}`);
      }

      // Back all at once, as a socket.connect() after any reconnection, sending {pid, offset};
      // the connection handler's "auth" follows the replay.
      for (const s of sockets) s.connect();
      await all(sockets, (s) => s.connects === 2 && s.seen.lastIndexOf("auth") > 0, "reconnected");
      await withTimeout(emitAck(sender, WAIT, "broadcast", "back"), WAIT, "broadcast back");
      await all(sockets, (s) => s.seen.includes("back"), "given the broadcast after their return");

      const wrong = sockets.filter(
        (s, i) =>
          !s.recovered ||
          s.id !== ids[i] ||
          JSON.stringify(s.seen.slice(marks[i])) !== JSON.stringify(["away-1", "away-2", "away-3", "auth", "back"]),
      );
      const first = wrong[0];
      assert.equal(
        wrong.length,
        0,
        first &&
          `${wrong.length} of ${clients} did not recover as they were; the first: recovered ${first.recovered}, ` +
            `same id ${first.id === ids[sockets.indexOf(first)]}, since the drop ${JSON.stringify(first.seen.slice(marks[sockets.indexOf(first)]))}`,
      );
    } finally {
      for (const s of sockets) s.close();
      sender.close();
    }
  });
}
