// Volume and ordering against the `sio-features` server: many concurrent
// clients doing acked round trips, 1000 messages in order on one socket, and
// emits from different server paths reaching one socket in order.
import assert from "node:assert/strict";
import { describe } from "node:test";
import { SIO_SETUPS, assertSameArgs, connectSio, emitAck, useSioServer } from "./sio-harness.mjs";

/**
 * This file is about volume and ordering, not heartbeats (heartbeat.test.mjs
 * and raw-protocol.test.mjs hold those to the contract's 300 ms / 200 ms). With
 * a 200 ms ping timeout, 200 socket.io-client instances in this one Node
 * process, on a machine busy with anything else, answer pings late and close
 * with "ping timeout", against Node's own server too: the race is the test
 * process's event loop against the clock. A 5 s timeout takes the clock out.
 */
const ctx = useSioServer("sio-features", {
  events: true,
  env: { PING_INTERVAL_MS: "2000", PING_TIMEOUT_MS: "5000" },
});
const { pool, test } = ctx;

const ROUND_TRIPS = 5;
const CLIENTS = 200;

for (const setup of SIO_SETUPS) {
  describe(`load and ordering over ${setup.name}`, () => {
    test(`${CLIENTS} concurrent clients each doing ${ROUND_TRIPS} acked round trips`, { timeout: 60_000 }, async (t) => {
      const t0 = Date.now();
      // connected in batches of 50 (a burst of 200 polling handshakes and
      // upgrades at once makes the Node client side miss heartbeats), then
      // all 200 work concurrently
      const clients = [];
      for (let b = 0; b < CLIENTS; b += 50) {
        const batch = Array.from({ length: Math.min(50, CLIENTS - b) }, (_, k) =>
          connectSio(ctx.server, setup, pool, { label: `c${b + k}`, timeoutMs: 20_000 }),
        );
        clients.push(...(await Promise.all(batch)));
      }
      const connectedAt = Date.now();
      assert.equal(new Set(clients.map((s) => s.id)).size, CLIENTS, "every socket id is distinct");
      const results = await Promise.all(
        clients.map(async (s, i) => {
          const acks = [];
          for (let j = 0; j < ROUND_TRIPS; j++) {
            acks.push(await emitAck(s, 20_000, "message-with-ack", `c${i}`, j, { i, j }));
          }
          return acks;
        }),
      );
      results.forEach((acks, i) => {
        acks.forEach((ack, j) => assert.deepStrictEqual(ack, [`c${i}`, j, { i, j }], `client ${i}, round trip ${j}`));
      });
      // the server sees each of them in / exactly once
      const fetched = await emitAck(clients[0], 10_000, "fetch", null);
      assert.deepStrictEqual(fetched[0], clients.map((s) => s.id).sort());
      t.diagnostic(`connect ${connectedAt - t0} ms, round trips ${Date.now() - connectedAt} ms`);
    });

    test("1000 messages on one socket come back in order", { timeout: 60_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      const n = 1000;
      for (let i = 0; i < n; i++) {
        if (i % 100 === 7) socket.emit("message", i, Buffer.from([i % 256, 0xff]));
        else socket.emit("message", i, `payload-${i}`);
      }
      const got = await socket.rec.waitForCount("message-back", n, 30_000);
      const firstBad = got.findIndex((args, i) => args[0] !== i);
      assert.equal(firstBad, -1, `first out-of-order message-back at index ${firstBad}: ${JSON.stringify(got[firstBad])}`);
      got.forEach((args, i) => {
        if (i % 100 === 7) assertSameArgs(args, [i, Buffer.from([i % 256, 0xff])], `message ${i}`);
        else assert.deepStrictEqual(args, [i, `payload-${i}`]);
      });
    });

    test("emits from different server paths reach one socket in the order they were made", { timeout: 60_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      await emitAck(socket, 3000, "join", "own-room");
      const n = 300;
      // every request makes the server emit one event to this socket, by four different paths
      for (let i = 0; i < n; i++) {
        switch (i % 4) {
          case 0:
            socket.emit("message", { seq: i });
            break;
          case 1:
            socket.emit("to", socket.id, "seq", { seq: i });
            break;
          case 2:
            socket.emit("to", "own-room", "seq", { seq: i, bin: Buffer.from([i % 256]) });
            break;
          default:
            socket.emit("nsp-emit", "/", "seq", { seq: i });
        }
      }
      await socket.rec.until(
        () => socket.rec.received.filter((r) => r.event === "seq" || r.event === "message-back").length >= n,
        30_000,
        `${n} server emits`,
      );
      const order = socket.rec.received
        .filter((r) => r.event === "seq" || r.event === "message-back")
        .map((r) => r.args[0].seq);
      const firstBad = order.findIndex((seq, i) => seq !== i);
      assert.equal(firstBad, -1, `first out-of-order emit at index ${firstBad}: seq ${order[firstBad]}`);
      assert.equal(order.length, n);
      const bins = socket.rec.all("seq", (args) => args[0].seq % 4 === 2);
      bins.forEach((r) => assert.deepStrictEqual(Buffer.from(r.args[0].bin), Buffer.from([r.args[0].seq % 256])));
    });
  });
}
