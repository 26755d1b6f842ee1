// Acknowledgements both ways against the `sio-features` server: client ->
// server acks with JSON and binary, server -> client acks with timeouts
// (answered, never answered, answered too late), and broadcasts with acks
// collecting one answer per client.
import assert from "node:assert/strict";
import { describe } from "node:test";
import { sleep } from "./harness.mjs";
import {
  SIO_SETUPS,
  assertSameArgs,
  ask,
  connectMany,
  connectSio,
  emitAck,
  useSioServer,
} from "./sio-harness.mjs";

const ctx = useSioServer("sio-features", { events: true });
const { pool, test } = ctx;

const TIMED_OUT = "operation has timed out";

/** Makes `socket` answer every "ask" with `answer(payload)` (after `delayMs`, if any). */
function answerAsks(socket, answer, delayMs = 0) {
  socket.on("ask", (payload, cb) => {
    assert.equal(typeof cb, "function", `"ask" arrived without an ack callback on ${socket.rec.label}`);
    if (delayMs) setTimeout(() => cb(answer(payload)), delayMs);
    else cb(answer(payload));
  });
}

/** Makes `socket` receive "ask" but never call the ack. */
function ignoreAsks(socket) {
  socket.on("ask", () => {});
}

for (const setup of SIO_SETUPS) {
  describe(`acks over ${setup.name}`, () => {
    test("client -> server: the ack carries the same JSON and binary arguments", { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      const cases = [
        ["one"],
        [1, "two", { three: [3] }],
        [Buffer.from([0, 1, 2, 255])],
        [{ deep: { bin: Buffer.from("abc"), list: [Buffer.from([7]), null, "x"] } }, Buffer.from([9])],
        [],
      ];
      const acks = await Promise.all(cases.map((args) => emitAck(socket, 3000, "message-with-ack", ...args)));
      cases.forEach((args, i) => assertSameArgs(acks[i], args, `ack #${i}`));
      assert.ok(Buffer.isBuffer(acks[3][0].deep.list[0]), "nested binary came back as binary");
    });

    test("server -> client: the client's answer (JSON or binary) comes back", { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      answerAsks(socket, (payload) => ({ echo: payload, from: "client" }));
      assert.deepStrictEqual(await ask(socket, 3000, "server-ack", "hello", 2000), {
        answer: { echo: "hello", from: "client" },
      });
      const res = await ask(socket, 3000, "server-ack", { bin: Buffer.from([1, 2, 3]) }, 2000);
      assertSameArgs(res, { answer: { echo: { bin: Buffer.from([1, 2, 3]) }, from: "client" } }, "binary round trip");
      assert.ok(Buffer.isBuffer(res.answer.echo.bin));
      // what the client was asked
      assert.deepStrictEqual(socket.rec.all("ask").map((r) => r.args[0]).slice(0, 1), ["hello"]);
    });

    test('server -> client: a client that never acks gives "operation has timed out"', { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      ignoreAsks(socket);
      const t0 = Date.now();
      const res = await ask(socket, 3000, "server-ack", "anyone?", 200);
      const elapsed = Date.now() - t0;
      assert.deepStrictEqual(res, { error: TIMED_OUT });
      assert.ok(elapsed >= 180, `timed out after ${elapsed} ms, before the 200 ms timeout`);
      assert.ok(elapsed < 1500, `timed out after ${elapsed} ms`);
      assert.equal(socket.rec.all("ask").length, 1, "the client was asked once");
      assert.equal(socket.connected, true);
    });

    test("server -> client: an answer after the timeout is ignored, the connection goes on", { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      answerAsks(socket, () => "too late", 400);
      const res = await ask(socket, 3000, "server-ack", "slow", 150);
      assert.deepStrictEqual(res, { error: TIMED_OUT });
      await sleep(500); // the late answer reaches the server meanwhile
      assert.deepStrictEqual(await emitAck(socket, 3000, "message-with-ack", "after"), ["after"]);
      assert.equal(socket.connected, true);
    });

    test("several server -> client acks in flight at once are matched to their answers", { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      // answer in reverse order of arrival
      const pending = [];
      socket.on("ask", (payload, cb) => {
        pending.push(() => cb(`answer-${payload}`));
        if (pending.length === 5) pending.reverse().forEach((f) => f());
      });
      const results = await Promise.all([0, 1, 2, 3, 4].map((i) => ask(socket, 3000, "server-ack", i, 2000)));
      assert.deepStrictEqual(results, [0, 1, 2, 3, 4].map((i) => ({ answer: `answer-${i}` })));
    });
  });

  describe(`broadcast acks over ${setup.name}`, () => {
    test("io.timeout().emit collects one answer per client of the namespace", { timeout: 15_000 }, async () => {
      const clients = await connectMany(ctx.server, setup, pool, 3, { prefix: "b" });
      clients.forEach((s, i) => answerAsks(s, () => `answer-${i}`));
      const res = await ask(clients[0], 5000, "broadcast-ack", null, 2000);
      assert.deepStrictEqual(res, { error: null, answers: ["answer-0", "answer-1", "answer-2"] });
      for (const s of clients) assert.deepStrictEqual(s.rec.all("ask").map((r) => r.args[0]), ["question"]);
    });

    test("io.to(room).timeout().emit collects the answers of the room's clients only", { timeout: 15_000 }, async () => {
      const clients = await connectMany(ctx.server, setup, pool, 3, { prefix: "b" });
      clients.forEach((s, i) => answerAsks(s, () => `answer-${i}`));
      await ask(clients[1], 3000, "join", "ackers");
      await ask(clients[2], 3000, "join", "ackers");
      const res = await ask(clients[0], 5000, "broadcast-ack", "ackers", 2000);
      assert.deepStrictEqual(res, { error: null, answers: ["answer-1", "answer-2"] });
      assert.equal(clients[0].rec.all("ask").length, 0, "the sender is not in the room");
    });

    test("a broadcast ack with a silent client times out with the answers received so far", { timeout: 15_000 }, async () => {
      const clients = await connectMany(ctx.server, setup, pool, 3, { prefix: "b" });
      answerAsks(clients[1], () => "quick");
      ignoreAsks(clients[2]);
      await ask(clients[1], 3000, "join", "mixed");
      await ask(clients[2], 3000, "join", "mixed");
      const t0 = Date.now();
      const res = await ask(clients[0], 5000, "broadcast-ack", "mixed", 300);
      const elapsed = Date.now() - t0;
      assert.deepStrictEqual(res, { error: TIMED_OUT, answers: ["quick"] });
      assert.ok(elapsed >= 280 && elapsed < 2000, `answered after ${elapsed} ms for a 300 ms timeout`);
      assert.equal(clients[2].rec.all("ask").length, 1, "the silent client was asked");
    });

    test("a broadcast ack to an empty room answers at once with no answers", { timeout: 15_000 }, async () => {
      const [socket] = await connectMany(ctx.server, setup, pool, 1);
      const t0 = Date.now();
      const res = await ask(socket, 3000, "broadcast-ack", "nobody", 2000);
      assert.deepStrictEqual(res, { error: null, answers: [] });
      assert.ok(Date.now() - t0 < 1000, "an empty room must not wait for the timeout");
    });
  });
}
