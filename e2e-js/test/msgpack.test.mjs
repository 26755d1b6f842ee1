// The msgpack parser (PARSER=msgpack; Node's `parser: require("socket.io-msgpack-parser")`):
// the official client with the same parser talks to the server over every transport setup:
// events both ways, acks both ways, binary anywhere in a payload, a namespace with auth. A
// client speaking the default parser to such a server is refused, and the server keeps
// serving the others.
import assert from "node:assert/strict";
import { describe } from "node:test";
import msgpackParser from "socket.io-msgpack-parser";
import { io } from "socket.io-client";
import { withTimeout } from "./harness.mjs";
import { SIO_SETUPS, assertSameArgs, connectSio, emitAck, useSioServer } from "./sio-harness.mjs";

const ctx = useSioServer("sio-conformance", { env: { PARSER: "msgpack" } });
const { pool, test } = ctx;
const clientOpts = { parser: msgpackParser };

const CASES = [
  ["one"],
  [1, -2, 3.5, "two", true, null, { three: [3] }],
  [Buffer.from([0, 1, 2, 255])],
  [{ deep: { bin: Buffer.from("abc"), list: [Buffer.from([7]), null, "x"] } }, Buffer.from([9])],
  [],
];

for (const setup of SIO_SETUPS) {
  describe(`msgpack over ${setup.name}`, () => {
    test("events and acks both ways, binary intact", { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool, { clientOpts, auth: { token: "t" } });
      assertSameArgs(await socket.rec.waitFor("auth", 3000), [{ token: "t" }], "the auth came through");

      for (const [i, args] of CASES.entries()) {
        assertSameArgs(await emitAck(socket, 3000, "message-with-ack", ...args), args, `ack #${i}`);
      }
      for (const args of CASES) socket.emit("message", ...args);
      const back = await socket.rec.waitForCount("message-back", CASES.length, 3000);
      CASES.forEach((args, i) => assertSameArgs(back[i], args, `message-back #${i}`));
      assert.ok(Buffer.isBuffer(back[3][0].deep.list[0]), "nested binary is binary");
    });

    test("a namespace with auth, beside /", { timeout: 15_000 }, async () => {
      const main = await connectSio(ctx.server, setup, pool, { clientOpts });
      const custom = await connectSio(ctx.server, setup, pool, {
        clientOpts,
        nsp: "/custom",
        manager: main.io,
        auth: { user: "ann", bytes: [1, 2] },
      });
      assertSameArgs(await custom.rec.waitFor("auth", 3000), [{ user: "ann", bytes: [1, 2] }], "auth on /custom");
      assertSameArgs(await emitAck(main, 3000, "message-with-ack", "still here"), ["still here"], "/ still works");
    });
  });
}

test("a client speaking the default parser is refused, the others served", { timeout: 15_000 }, async () => {
  const good = await connectSio(ctx.server, SIO_SETUPS[0], pool, { clientOpts });
  const wrong = io(ctx.server.url, { transports: ["websocket"], reconnection: false, forceNew: true });
  pool.trackSocket(wrong);
  const outcome = await withTimeout(
    new Promise((resolve) => {
      wrong.once("connect", () => resolve("connected"));
      wrong.once("connect_error", () => resolve("refused"));
      wrong.io.once("close", () => resolve("refused"));
    }),
    5000,
    "the default-parser client to be refused",
  );
  assert.equal(outcome, "refused");
  assertSameArgs(await emitAck(good, 3000, "message-with-ack", Buffer.from([1])), [Buffer.from([1])], "still served");
});
