// Echo scenarios with the real engine.io-client over the three transport setups:
// text and binary both ways, 1000 messages in order, payloads near 1 MB.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { ClientPool, SETUPS, asBuffer, collectMessages, connect, useServer } from "./harness.mjs";

let server;
const pool = new ClientPool();
useServer({ events: true }, pool, (started) => {
  server = started;
});

/** A string whose content depends on position, so truncation/reordering shows. */
function patternText(n) {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  let s = "";
  let i = 0;
  while (s.length < n) {
    const chunk = `${i}:${alphabet.slice(i % alphabet.length)}|`;
    s += chunk;
    i++;
  }
  return s.slice(0, n);
}

function assertSameBytes(got, expected, label) {
  assert.equal(typeof got === "string", false, `${label}: expected binary, got a string`);
  const buf = asBuffer(got);
  assert.equal(buf.length, expected.length, `${label}: length`);
  assert.ok(buf.equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)), `${label}: bytes differ`);
}

for (const setup of SETUPS) {
  describe(`echo over ${setup.name}`, () => {
    test("text messages (ASCII, empty, multi-byte UTF-8) echo unchanged", { timeout: 15_000 }, async () => {
      const socket = await connect(server, setup, pool);
      assert.equal(socket.transport.name, setup.transport);
      const texts = ["hello", "", "héllo wörld ✓ 日本語 🌍🚀", "line1\nline2\ttab \"quoted\" {json:1}", "4not a packet"];
      const echoes = collectMessages(socket, texts.length, 5000, "text echoes");
      for (const t of texts) socket.send(t);
      const got = await echoes;
      // An empty message travels as the bare packet "4"; engine.io-parser then
      // yields `undefined` as its data (observed with Node's engine.io too).
      assert.equal(got[1], undefined, "the empty message comes back as a message without data");
      assert.deepEqual(got.map((m) => m ?? ""), texts);
    });

    test("binary messages (Uint8Array and Buffer) echo byte-exact as binary", { timeout: 15_000 }, async () => {
      const socket = await connect(server, setup, pool);
      assert.equal(socket.transport.name, setup.transport);
      const allBytes = new Uint8Array(256).map((_, i) => i);
      const buf = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x1e, 0x34]);
      const single = new Uint8Array([0x04]);
      const payloads = [allBytes, buf, single];
      const echoes = collectMessages(socket, payloads.length, 5000, "binary echoes");
      for (const p of payloads) socket.send(p);
      const got = await echoes;
      // engine.io-client in Node delivers binary as a Buffer (binaryType "nodebuffer")
      for (const g of got) assert.ok(Buffer.isBuffer(g), `expected a Buffer, got ${Object.prototype.toString.call(g)}`);
      payloads.forEach((p, i) => assertSameBytes(got[i], p, `binary #${i}`));
    });

    test("interleaved text and binary keep order and type", { timeout: 15_000 }, async () => {
      const socket = await connect(server, setup, pool);
      const sent = [];
      for (let i = 0; i < 20; i++) sent.push(i % 2 === 0 ? `text-${i}` : new Uint8Array([i, 255 - i, i]));
      const echoes = collectMessages(socket, sent.length, 5000, "mixed echoes");
      for (const m of sent) socket.send(m);
      const got = await echoes;
      sent.forEach((m, i) => {
        if (typeof m === "string") assert.equal(got[i], m, `message #${i}`);
        else assertSameBytes(got[i], m, `message #${i}`);
      });
    });

    test("1000 numbered messages sent quickly come back in order", { timeout: 30_000 }, async () => {
      const socket = await connect(server, setup, pool);
      const n = 1000;
      const echoes = collectMessages(socket, n, 20_000, "1000 echoes");
      for (let i = 0; i < n; i++) socket.send(`msg-${i}`);
      const got = await echoes;
      const expected = Array.from({ length: n }, (_, i) => `msg-${i}`);
      const firstBad = got.findIndex((m, i) => m !== expected[i]);
      assert.equal(firstBad, -1, `first out-of-order echo at index ${firstBad}: got ${JSON.stringify(got[firstBad])}`);
      assert.equal(socket.readyState, "open");
    });

    test("a 900,000-char text message echoes intact", { timeout: 30_000 }, async () => {
      const socket = await connect(server, setup, pool);
      const big = patternText(900_000);
      const echoes = collectMessages(socket, 1, 15_000, "big text echo");
      socket.send(big);
      const [got] = await echoes;
      assert.equal(typeof got, "string");
      assert.equal(got.length, big.length);
      assert.ok(got === big, "big text content differs");
    });

    // Over polling binary is base64-encoded ("b" + base64) in the POST body,
    // which must stay under maxPayload (1e6): 700,000 bytes -> 933,337 chars.
    const binSize = setup.transport === "polling" ? 700_000 : 900_000;
    test(`a ${binSize.toLocaleString("en-US")}-byte binary message echoes byte-exact`, { timeout: 30_000 }, async () => {
      const socket = await connect(server, setup, pool);
      const big = new Uint8Array(randomBytes(binSize));
      const echoes = collectMessages(socket, 1, 15_000, "big binary echo");
      socket.send(big);
      const [got] = await echoes;
      assertSameBytes(got, big, "big binary");
    });
  });
}
