// WebSocket per-message deflate (PER_MESSAGE_DEFLATE=1; Node's `perMessageDeflate: true`),
// with real clients that offer it: the `ws` client, socket.io-client in Node (it offers deflate
// by default) and chromium. What goes on the wire is read from the TCP socket under the client,
// so a test sees which frames the server compressed (RSV1), not only that messages arrive.
//
// Where the servers differ on purpose, each is asserted: socket.compress(false) and messages
// under the threshold give uncompressed frames here, where Node 6.6's websocket transport
// compresses every message whatever its flag and size (docs/per-message-deflate.md).
//
// Needs /usr/bin/chromium for the browser test (scripts/test-all.sh installs it) or CHROMIUM=<path>.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe } from "node:test";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";
import WebSocket from "ws";
import { E2E_ROOT, sioServerKind, startServer, withTimeout } from "./harness.mjs";
import { useSioServer } from "./sio-harness.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const BUNDLE = path.join(E2E_ROOT, "node_modules", "socket.io-client", "dist", "socket.io.min.js");
const NODE = sioServerKind === "node";
const WAIT = 5000;

const ctx = useSioServer("sio-conformance", { env: { PER_MESSAGE_DEFLATE: "1" } });
const { test } = ctx;

/**
 * Follows the server's frames in the raw bytes of a client's TCP socket (server frames are
 * unmasked): each frame's RSV1 bit, opcode and payload length, in order.
 */
function frameLog(tcp) {
  const frames = [];
  let buffer = Buffer.alloc(0);
  tcp.prependListener("data", (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      let len = buffer[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buffer.length < 4) return;
        len = buffer.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buffer.length < 10) return;
        len = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (buffer.length < at + len) return;
      frames.push({ rsv1: (buffer[0] & 0x40) !== 0, opcode: buffer[0] & 0x0f, len });
      buffer = buffer.subarray(at + len);
    }
  });
  return frames;
}

/** A raw engine.io v4 WebSocket with the `ws` client, connected to "/" of socket.io. */
async function rawClient(url, wsOptions = {}) {
  const ws = new WebSocket(`${url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`, wsOptions);
  const messages = [];
  const waiters = [];
  ws.on("message", (data, isBinary) => {
    const text = isBinary ? data : data.toString();
    if (text === "2") return ws.send("3");
    messages.push(text);
    waiters.splice(0).forEach((wake) => wake());
  });
  const closed = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
  // The server's Sec-WebSocket-Extensions answer (ws.extensions has only the names).
  let extensions;
  ws.once("upgrade", (response) => (extensions = response.headers["sec-websocket-extensions"] ?? ""));
  await withTimeout(new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  }), WAIT, "the WebSocket to open");
  const frames = frameLog(ws._socket);
  const next = async (match) => {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const i = messages.findIndex(match);
      if (i >= 0) return messages.splice(i, 1)[0];
      assert.ok(Date.now() < deadline, `no message matched; got ${messages.map((m) => String(m).slice(0, 40))}`);
      await new Promise((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  await next((m) => m.startsWith("0{"));
  ws.send("40");
  await next((m) => m.startsWith("40"));
  return { ws, frames, next, closed, extensions };
}

/** The frame the last text message matching `match` arrived in. */
async function echo(client, event, payload) {
  const before = client.frames.length;
  client.ws.send(`42${JSON.stringify([event, payload])}`);
  const back = `42${JSON.stringify([`${event}-back`, payload])}`;
  await client.next((m) => m === back);
  // The answer is the last data frame that arrived (pings are tiny, and not answers).
  const frame = client.frames.slice(before).findLast((f) => f.opcode === 1 && f.len > 10);
  assert.ok(frame, "the answer's frame was seen");
  return frame;
}

describe("per-message deflate with the ws client", () => {
  const clients = [];
  const open = async (options) => {
    const client = await rawClient(ctx.server.url, options);
    clients.push(client);
    return client;
  };
  after(() => clients.forEach((c) => c.ws.terminate()));

  test("agreed as ws agrees; large answers compressed, small ones and compress(false) not", async () => {
    const client = await open({ perMessageDeflate: true });
    // ws offers `permessage-deflate; client_max_window_bits`; the bare parameter is not echoed.
    assert.equal(client.extensions, "permessage-deflate");
    const big = "x".repeat(10_000);
    const compressed = await echo(client, "message", big);
    assert.equal(compressed.rsv1, true, "a 10 KB answer is compressed");
    assert.ok(compressed.len < 500, `10 KB of x in ${compressed.len} bytes`);
    assert.equal((await echo(client, "message", "y".repeat(200))).rsv1, NODE, "a 200 B answer goes plain (Node 6.6 compresses all)");
    assert.equal((await echo(client, "uncompressed", big)).rsv1, NODE, "compress(false) goes plain (Node 6.6 ignores it)");
    // The client compresses what it sends (ws compresses every message): the server inflates it.
    const text = "the same words again ".repeat(2000);
    assert.equal((await echo(client, "message", text)).rsv1, true);
  });

  test("no-context-takeover offers are answered in kind and work", async () => {
    const client = await open({ perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true } });
    assert.equal(client.extensions, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    for (let i = 0; i < 3; i++) {
      assert.equal((await echo(client, "message", `${i}`.repeat(5000))).rsv1, true);
    }
  });

  test("an offer of a smaller server window is taken, and compressed with it", async () => {
    const client = await open({ perMessageDeflate: { serverMaxWindowBits: 10 } });
    assert.equal(client.extensions, "permessage-deflate; server_max_window_bits=10");
    // A window of 1 KiB: ws's inflater, set to 10 bits, refuses a farther reference (1007).
    const text = Array.from({ length: 400 }, (_, i) => `word${i % 97} `).join("");
    assert.equal((await echo(client, "message", text)).rsv1, true);
  });

  test("a decompression bomb closes its connection with 1009; the others keep working", { timeout: 20_000 }, async () => {
    const other = await open({ perMessageDeflate: true });
    const bomber = await open({ perMessageDeflate: true });
    // 10 MB of zeros compresses to about 10 KB; the server's limit is 1 MB inflated.
    const started = Date.now();
    bomber.ws.send(`42${JSON.stringify(["message", "0".repeat(10_000_000)])}`);
    assert.equal(await withTimeout(bomber.closed, WAIT, "the bomber's close"), 1009);
    assert.ok(Date.now() - started < WAIT);
    assert.equal((await echo(other, "message", "still ".repeat(1000))).rsv1, true);
  });
});

describe("per-message deflate with socket.io-client in Node", () => {
  test("it offers deflate by default: large emits compressed both ways, over each WebSocket setup", async () => {
    for (const opts of [{ transports: ["websocket"] }, { transports: ["polling", "websocket"] }]) {
      const socket = io(ctx.server.url, { ...opts, forceNew: true, reconnection: false });
      ctx.pool.trackSocket(socket);
      await withTimeout(new Promise((resolve) => socket.once("connect", resolve)), WAIT, "connect");
      if (socket.io.engine.transport.name !== "websocket") {
        await withTimeout(new Promise((resolve) => socket.io.engine.once("upgrade", resolve)), WAIT, "upgrade");
      }
      const frames = frameLog(socket.io.engine.transport.ws._socket);
      const big = { text: "hello ".repeat(3000), list: Array.from({ length: 100 }, (_, i) => i) };
      const back = new Promise((resolve) => socket.once("message-back", resolve));
      socket.emit("message", big);
      assert.deepEqual(await withTimeout(back, WAIT, "message-back"), big);
      assert.ok(frames.some((f) => f.rsv1 && f.opcode === 1), `a compressed frame (${opts.transports})`);
      const plain = new Promise((resolve) => socket.once("uncompressed-back", resolve));
      const before = frames.length;
      socket.emit("uncompressed", big);
      assert.deepEqual(await withTimeout(plain, WAIT, "uncompressed-back"), big);
      const answer = frames.slice(before).findLast((f) => f.opcode === 1);
      assert.equal(answer.rsv1, NODE, "compress(false) is honoured (Node 6.6 ignores it)");
      socket.disconnect();
    }
  });
});

describe("without the option", () => {
  let plainServer;
  before(async () => {
    plainServer = await startServer({ kind: "sio-conformance" });
  });
  after(async () => {
    await plainServer?.stop();
  });

  test("nothing is agreed, and large messages go plain", async () => {
    const client = await rawClient(plainServer.url, { perMessageDeflate: true });
    assert.equal(client.extensions, "");
    assert.equal((await echo(client, "message", "x".repeat(10_000))).rsv1, false);
    client.ws.terminate();
  });
});

describe("per-message deflate in chromium", { skip: ctx.skip ?? false }, () => {
  let browser;
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  });
  after(async () => {
    await browser?.close();
  });

  test("the browser's offer is taken, and 5 KB messages go both ways in rooms", { timeout: 20_000 }, async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(error.message));
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    const handshake = new Promise((resolve) => cdp.once("Network.webSocketHandshakeResponseReceived", resolve));
    await page.addScriptTag({ path: BUNDLE });
    const result = await page.evaluate(
      async ({ url }) => {
        const socket = io(url, { transports: ["websocket"] });
        await new Promise((resolve) => socket.once("connect", resolve));
        const text = "chromium ".repeat(600);
        const acked = await socket.timeout(3000).emitWithAck("join", "deflate-room");
        const room = new Promise((resolve) => socket.once("room", resolve));
        await socket.timeout(3000).emitWithAck("to-room", "deflate-room", text);
        const back = new Promise((resolve) => socket.once("message-back", resolve));
        socket.emit("message", text);
        const result = { acked, room: (await room) === text, back: (await back) === text };
        socket.disconnect();
        return result;
      },
      { url: ctx.server.url },
    );
    const response = (await withTimeout(handshake, WAIT, "the WebSocket handshake")).response;
    const extensions = Object.entries(response.headers).find(([name]) => name.toLowerCase() === "sec-websocket-extensions");
    assert.equal(extensions?.[1], "permessage-deflate");
    assert.deepEqual(result, { acked: "deflate-room", room: true, back: true });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
