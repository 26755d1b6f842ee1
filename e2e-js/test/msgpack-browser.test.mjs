// The official msgpack browser bundle (socket.io-client's dist/socket.io.msgpack.min.js, which
// `serve_client` serves beside the default one) in Debian's chromium, against sio-conformance
// with PARSER=msgpack: events and acks with binary both ways, over WebSocket and long-polling.
//
// Needs /usr/bin/chromium (scripts/test-all.sh installs it) or CHROMIUM=<path>.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { E2E_ROOT, sioSkipReason, startServer } from "./harness.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const BUNDLE = path.join(E2E_ROOT, "node_modules", "socket.io-client", "dist", "socket.io.msgpack.min.js");
const skip = sioSkipReason("sio-conformance");

describe("the msgpack browser bundle in chromium", { skip: skip ?? false }, () => {
  let server, browser;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM`);
    server = await startServer({ kind: "sio-conformance", env: { PARSER: "msgpack" } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    assert.deepEqual(pageErrors, [], "script errors on the pages");
  });

  for (const transport of ["websocket", "polling"]) {
    test(`events and acks with binary over ${transport}`, { timeout: 20_000 }, async () => {
      const page = await browser.newPage();
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.addScriptTag({ path: BUNDLE });
      const result = await page.evaluate(
        async ({ url, transport }) => {
          const socket = io(url, { transports: [transport], auth: { from: "chromium" } });
          const auth = await new Promise((resolve) => socket.once("auth", resolve));
          const bytes = new Uint8Array([0, 1, 2, 255]);
          const acked = await new Promise((resolve, reject) =>
            socket
              .timeout(3000)
              .emit("message-with-ack", "text", { bin: bytes.buffer }, 42, (err, ...args) => (err ? reject(err) : resolve(args))),
          );
          const back = new Promise((resolve) => socket.once("message-back", (...args) => resolve(args)));
          socket.emit("message", bytes.buffer, [1.5, null, true]);
          const echoed = await back;
          const transportUsed = socket.io.engine.transport.name;
          socket.disconnect();
          const list = (buffer) => Array.from(new Uint8Array(buffer));
          return {
            auth,
            acked: [acked[0], list(acked[1].bin), acked[2]],
            binaryType: Object.prototype.toString.call(echoed[0]),
            echoed: [list(echoed[0]), echoed[1]],
            transportUsed,
          };
        },
        { url: server.url, transport },
      );
      assert.deepEqual(result.auth, { from: "chromium" });
      assert.deepEqual(result.acked, ["text", [0, 1, 2, 255], 42]);
      assert.equal(result.binaryType, "[object ArrayBuffer]", "binary arrives as binary");
      assert.deepEqual(result.echoed, [[0, 1, 2, 255], [1.5, null, true]]);
      assert.equal(result.transportUsed, transport);
      await page.close();
    });
  }
});
