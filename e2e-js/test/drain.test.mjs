// The server reports "drain" (its write buffer fully written by the transport)
// while echoing a burst, and every echo arrives.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ClientPool, SETUPS, collectMessages, connect, useServer } from "./harness.mjs";

let server;
const pool = new ClientPool();
useServer({ events: true }, pool, (started) => {
  server = started;
});

for (const setup of SETUPS) {
  describe(`drain over ${setup.name}`, () => {
    test("a burst of 500 echoes fills the write buffer and the server reports drain", { timeout: 30_000 }, async () => {
      const socket = await connect(server, setup, pool);
      const sid = socket.id;
      const isDrain = (e) => e.event === "drain" && e.sid === sid;
      const drainsBefore = server.events(isDrain).length;
      const mark = server.eventCount();

      const n = 500;
      const filler = "z".repeat(1000);
      const echoes = collectMessages(socket, n, 20_000, `${n} burst echoes`);
      for (let i = 0; i < n; i++) socket.send(`${i}:${filler}`);
      const got = await echoes;

      const firstBad = got.findIndex((m, i) => m !== `${i}:${filler}`);
      assert.equal(firstBad, -1, `echo #${firstBad} wrong or out of order`);
      // a drain line for this sid printed during/after the burst
      await server.waitFor(isDrain, 3000, `a drain line for ${sid} after the burst started`, mark);
      assert.ok(server.events(isDrain).length > drainsBefore);
      assert.equal(socket.readyState, "open");
    });
  });
}
