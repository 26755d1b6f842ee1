// The chat on a machine with no copy of the browser client and no internet but the npm
// registry: what a fresh clone gets from `cargo run -p chat`. The chat binary is started with
// SOCKETIO_CLIENT_CACHE naming a new, empty directory (which also makes it skip the copy
// e2e-js/node_modules holds), so it must fetch socket.io-client with npm before it serves; the
// page runs in Debian's chromium with every request to a host other than 127.0.0.1 aborted, so
// the socket.io CDN the page falls back to is out of reach and only the server's own copy works.
//
// Needs npm and the npm registry (or npm's own cache already holding socket.io-client 4.8.4,
// as it does after `npm ci` here), /usr/bin/chromium or CHROMIUM=<path>, and the chat binary
// (cargo build -p chat) or CHAT_BIN=<path>.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  CHAT_BIN,
  CHROMIUM,
  WAIT,
  launchChromium,
  seen,
  startChat as startChatWith,
  stopChild as stop,
} from "./chat-harness.mjs";
import { HOST, freePort } from "./harness.mjs";

const VERSION = "4.8.4"; // e2e-js/package.json's socket.io-client, which the chat pins too
// The chat gives npm 30 s before it starts without the client; a start never takes longer.
const START_WAIT = 60_000;

/** Starts the chat on `port` with `env`, naming no client copy; resolves once it listens. */
const startChat = (port, env) => startChatWith(port, env, { clientDir: null, wait: START_WAIT });

describe("chat with no client copy and no CDN, in chromium", () => {
  let cache, browser;
  const servers = [];
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM`);
    assert.ok(existsSync(CHAT_BIN), `no chat binary at ${CHAT_BIN}: cargo build -p chat, or set CHAT_BIN`);
    cache = mkdtempSync(path.join(os.tmpdir(), "chat-client-cache-"));
    // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    for (const server of servers) await stop(server);
    if (cache) rmSync(cache, { recursive: true, force: true });
    assert.deepEqual(pageErrors, [], "script errors on the pages");
  });

  async function start(env) {
    const port = await freePort();
    const server = await startChat(port, env);
    servers.push(server);
    return { server, base: `http://${HOST}:${port}/` };
  }

  /**
   * A tab on `base` that can reach 127.0.0.1 only, logged in as `name`. Returns the page, the
   * addresses it was refused (`offsite`) and the scripts it loaded.
   */
  async function openOffline(base, name) {
    const page = await browser.newPage();
    page.on("pageerror", (error) => pageErrors.push(`${name}: ${error.message}`));
    const offsite = [];
    const scripts = [];
    await page.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === HOST) return route.continue();
      offsite.push(url.href);
      return route.abort("internetdisconnected");
    });
    page.on("response", (response) => {
      if (response.request().resourceType() === "script") scripts.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(base);
    // Either the client loaded and the socket connected, or the page gave up on the client.
    await page.waitForFunction(
      () => window.chat?.socket.connected || document.getElementById("status").textContent.includes("could not be loaded"),
      null,
      { timeout: WAIT },
    );
    const status = await page.locator("#status").textContent();
    assert.equal(
      await page.evaluate(() => window.chat?.socket.connected === true),
      true,
      `${name}'s page did not connect; it says "${status}"; refused: ${offsite.join(", ") || "nothing"}`,
    );
    await page.fill("#nick", name);
    await page.click("#login");
    await page.waitForFunction(() => !document.getElementById("login-dialog").open, null, { timeout: WAIT });
    return { page, offsite, scripts };
  }

  test("the chat fetches the pinned client with npm, and the pages load it from the server and chat", async () => {
    const { server, base } = await start({ SOCKETIO_CLIENT_CACHE: cache });
    const alice = await openOffline(base, "alice");
    const bob = await openOffline(base, "bob");
    for (const { scripts, offsite } of [alice, bob]) {
      assert.ok(scripts.includes(`200 ${base}socket.io/socket.io.min.js`), scripts.join(", "));
      assert.deepEqual(offsite, [], "the page asked for nothing beyond the server");
    }
    // It said what it did, once, and kept the copy.
    assert.match(server.out, new RegExp(`fetching socket\\.io-client ${VERSION.replaceAll(".", "\\.")} with npm into `));
    assert.ok(!server.log.includes("could not fetch"), server.log);
    assert.ok(existsSync(path.join(cache, `socket.io-client-${VERSION}`, "socket.io.min.js")), "the client is in the cache");

    await alice.page.fill("#text", "no internet here");
    await alice.page.click("#send");
    await seen(bob.page, "#messages li", "no internet here");
    await seen(alice.page, '#messages li.mine[data-state="delivered"]', "no internet here");
    await alice.page.close();
    await bob.page.close();
  });

  test("the next start serves the cached client without running npm", async () => {
    // No npm on the PATH: a start that tried to fetch would say so on stderr.
    const { server, base } = await start({ SOCKETIO_CLIENT_CACHE: cache, PATH: "/nonexistent" });
    assert.ok(!server.out.includes("fetching"), server.out);
    const response = await fetch(`${base}socket.io/socket.io.min.js`);
    const body = await response.arrayBuffer();
    assert.equal(response.status, 200);
    assert.equal(body.byteLength, statSync(path.join(cache, `socket.io-client-${VERSION}`, "socket.io.min.js")).size);
    const carol = await openOffline(base, "carol");
    assert.deepEqual(carol.offsite, []);
    await carol.page.close();
    await stop(server);
    assert.equal(server.log, "", "nothing on stderr");
  });

  test("without npm and without a cached client the chat still starts, and says why on stderr", async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), "chat-client-cache-"));
    try {
      const { server } = await start({ SOCKETIO_CLIENT_CACHE: empty, PATH: "/nonexistent" });
      await stop(server);
      assert.equal(
        server.log.trim(),
        `could not fetch socket.io-client ${VERSION} with npm (npm is not installed); the page will try the socket.io CDN`,
      );
      assert.equal(server.exitCode, 0, server.log);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
