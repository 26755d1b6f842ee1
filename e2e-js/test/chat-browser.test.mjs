// The chat example in a real browser: Debian's chromium driven by playwright-core, the page
// loading the official socket.io client that the chat server serves from npm's package.
// Everything is asserted on what a user sees on the page.
//
// Needs /usr/bin/chromium (scripts/test-all.sh installs it) or CHROMIUM=<path>, and the chat
// binary (cargo build -p chat) or CHAT_BIN=<path>. The screenshot goes to artifacts/chat.png.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  CHAT_BIN,
  CHROMIUM,
  CLIENT_DIR,
  WAIT,
  launchChromium,
  members,
  openChat,
  seen,
  startChat,
  stopChild as stop,
} from "./chat-harness.mjs";
import { E2E_ROOT, HOST, freePort, withTimeout } from "./harness.mjs";

export const SCREENSHOT = path.join(E2E_ROOT, "artifacts", "chat.png");

describe("chat example in chromium", () => {
  let port, server, browser, base;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM`);
    assert.ok(existsSync(CHAT_BIN), `no chat binary at ${CHAT_BIN}: cargo build -p chat, or set CHAT_BIN`);
    assert.ok(existsSync(path.join(CLIENT_DIR, "socket.io.min.js")), "socket.io-client is not installed: npm ci");
    port = await freePort();
    base = `http://${HOST}:${port}/`;
    server = await startChat(port);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (server) await stop(server, "SIGTERM");
    // The shutdown above was graceful: no crash on the way out.
    assert.equal(server?.exitCode, 0, `the chat server did not exit cleanly: ${server?.log}`);
    assert.deepEqual(pageErrors, [], "script errors on the pages");
  });

  /** A new browser tab (its own context: no shared storage) on the chat, logged in as `name`. */
  async function open(name, query = "") {
    return openChat(browser, base, name, { query, pageErrors });
  }

  const text = (page, selector) => page.locator(selector).textContent();
  const texts = (page, selector) => page.$$eval(selector, (els) => els.map((e) => e.textContent));

  async function say(page, message) {
    await page.fill("#text", message);
    await page.click("#send");
  }

  test("bad input gets a clear answer on the page, and the page keeps working", async () => {
    const page = await open(null);
    await page.click("#login");
    await seen(page, "#login-error", "Pick a nickname first.");
    await page.fill("#nick", "n".repeat(10_000));
    await page.click("#login");
    await seen(page, "#login-error", "at most 24 characters; that one has 10000");
    await page.fill("#nick", "mallory");
    await page.click("#login");
    await seen(page, "#room-title", "# general");

    // A message of 1 MB: refused before it leaves the page, the connection untouched.
    await page.evaluate(() => (document.getElementById("text").value = "x".repeat(1 << 20)));
    await page.click("#send");
    await seen(page, "#error", "That message has 1048576 characters; the limit is 2000.");
    assert.equal(await page.evaluate(() => window.chat.socket.connected), true);

    // What the page would never send, sent anyway: the server answers each in words.
    const answers = await page.evaluate(async () => {
      const ask = (event, payload) => window.chat.socket.timeout(5000).emitWithAck(event, payload);
      return {
        long: await ask("message", { room: "general", text: "y".repeat(3000) }),
        notJoined: await ask("message", { room: "random", text: "hi" }),
        malformed: await ask("join", 42),
        badName: await ask("create", "Not A Room!"),
      };
    });
    assert.match(answers.long.error, /3000 characters; the limit is 2000/);
    assert.match(answers.notJoined.error, /Join 'random' before writing to it/);
    assert.match(answers.malformed.error, /malformed/);
    assert.match(answers.badName.error, /A room name is 1 to 32 of a-z/);

    // An unknown room named in the address.
    const lost = await open("lost", "?room=nowhere");
    await seen(lost, "#error", "There is no room named 'nowhere'");
    assert.equal(await text(lost, "#room-title"), "Pick a room");

    // Still working: a message goes out and is marked delivered.
    await say(page, "still here");
    await seen(page, '#messages li[data-state="delivered"]', "still here");
    await lost.close();
    await page.close();
  });

  test("two pages in one room chat, see presence and typing; a page in another room sees none of it", async () => {
    const alice = await open("alice");
    const bob = await open("bob");
    const carol = await open("carol", "?room=random");
    await members(alice, ["alice", "bob"]);
    await members(bob, ["alice", "bob"]);
    await members(carol, ["carol"]);

    await alice.type("#text", "hel");
    await seen(bob, "#typing", "alice is typing…");
    await say(alice, "hello from alice");
    await seen(bob, "#messages li", "hello from alice");
    assert.deepEqual(await texts(bob, "#messages li .from"), ["mallory", "alice"]); // the history, then alice
    await seen(alice, '#messages li.mine[data-state="delivered"]', "hello from alice");
    assert.equal(await text(bob, "#typing"), "", "the message ends the typing mark");
    await say(bob, "hi alice");
    await seen(alice, "#messages li", "hi alice");
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await alice.screenshot({ path: SCREENSHOT });

    // carol is in #random: alice now writes there too, after her #general message; one
    // socket's messages arrive in order, so once carol has this one she would have had the other.
    await alice.click('#rooms li[data-room="random"] button');
    await seen(alice, "#room-title", "# random");
    await members(carol, ["alice", "carol"]);
    await say(alice, "hello random");
    await seen(carol, "#messages li", "hello random");
    const carolSaw = (await texts(carol, "#messages li .text")).join("\n");
    assert.ok(!carolSaw.includes("hello from alice") && !carolSaw.includes("hi alice"), carolSaw);
    assert.equal(await text(carol, "#typing"), "");
    // alice's unread count shows bob's message that came while she looked at #random.
    await say(bob, "are you there?");
    await seen(alice, '#rooms li[data-room="general"] .unread', "1");
    for (const page of [alice, bob, carol]) await page.close();
  });

  test("a page forced to long-polling talks with a websocket page", async () => {
    const ws = await open("wendy");
    const polling = await open("paul", "?transport=polling");
    await seen(ws, "#status", "connected · websocket");
    await seen(polling, "#status", "connected · polling");
    assert.equal(await polling.evaluate(() => window.chat.socket.io.engine.transport.name), "polling");
    await members(ws, ["paul", "wendy"]);
    await say(polling, "sent over polling");
    await seen(ws, "#messages li", "sent over polling");
    await say(ws, "sent over websocket");
    await seen(polling, "#messages li", "sent over websocket");
    await seen(polling, '#messages li.mine[data-state="delivered"]', "sent over polling");
    // Leaving the room takes her off the list of those who are there.
    await ws.click("#leave");
    await members(polling, ["paul"]);
    // Her own page changes room when the server's answer to "leave" arrives, which may come
    // after the presence update the other page got: wait for it rather than read it at once.
    await seen(ws, "#room-title", "Pick a room");
    await ws.close();
    await polling.close();
  });

  test("a page joining later sees the room's last messages", async () => {
    const late = await open("late");
    await seen(late, "#messages li", "sent over websocket");
    const shown = await texts(late, "#messages li .text");
    assert.ok(shown.indexOf("hello from alice") < shown.indexOf("sent over polling"), shown.join(" | "));
    await late.close();
  });

  test("a page offline for ten seconds gets what it missed, once each and in order, and stays present", async () => {
    const olga = await open("olga");
    await olga.fill("#new-room", "trains");
    await olga.click("#create");
    await seen(olga, "#room-title", "# trains");
    const hugo = await open("hugo");
    await hugo.click('#rooms li[data-room="trains"] button');
    await members(olga, ["hugo", "olga"]);
    await members(hugo, ["hugo", "olga"]);
    await say(olga, "before the tunnel");
    await seen(hugo, "#messages li", "before the tunnel");
    // Every member list hugo's page receives from now on.
    await hugo.evaluate(() => {
      window.memberLists = [];
      window.chat.socket.on("members", ({ room, members }) => window.memberLists.push({ room, members }));
    });
    const id = await olga.evaluate(() => window.chat.socket.id);

    await olga.context().setOffline(true);
    const offlineAt = Date.now();
    await seen(olga, "#status", "reconnecting…");
    for (const n of [1, 2, 3]) {
      await say(hugo, `missed ${n}`);
      await seen(hugo, '#messages li.mine[data-state="delivered"]', `missed ${n}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - offlineAt))));
    await olga.context().setOffline(false);

    await seen(olga, "#status", "connected · ");
    assert.equal(await olga.evaluate(() => window.chat.socket.recovered), true, "the session was recovered");
    assert.equal(await olga.evaluate(() => window.chat.socket.id), id, "the same socket");
    await seen(olga, "#messages li", "missed 3");
    const shown = await texts(olga, "#messages li .text");
    assert.deepEqual(
      shown.filter((t) => t.startsWith("missed") || t.startsWith("before")),
      ["before the tunnel", "missed 1", "missed 2", "missed 3"],
      "each missed message once, in order",
    );
    // Still logged in and in the room, without a rejoin: she writes, hugo reads.
    await say(olga, "out of the tunnel");
    await seen(hugo, "#messages li", "out of the tunnel");
    await members(hugo, ["hugo", "olga"]);
    const lists = await hugo.evaluate(() => window.memberLists.filter((l) => l.room === "trains"));
    assert.ok(
      lists.every((l) => l.members.includes("olga")),
      `olga was never shown as gone: ${JSON.stringify(lists)}`,
    );
    await olga.close();
    await members(hugo, ["hugo"]); // a closed page has left for good
    await hugo.close();
  });

  test("pages whose server goes away reconnect and rejoin their rooms when it comes back", async () => {
    const ann = await open("ann");
    const ben = await open("ben", "?transport=polling");
    await ann.fill("#new-room", "team");
    await ann.click("#create");
    await seen(ann, "#room-title", "# team");
    await seen(ben, "#rooms li", "# team"); // the new room appears for everyone
    await ben.click('#rooms li[data-room="team"] button');
    await members(ann, ["ann", "ben"]);

    await stop(server, "SIGKILL");
    await seen(ann, "#status", "reconnecting…");
    await seen(ben, "#status", "reconnecting…");
    server = await startChat(port);

    await seen(ann, "#status", "connected · websocket");
    await seen(ben, "#status", "connected · polling");
    // The restarted server knew neither them nor #team: both are back in it, together.
    await members(ann, ["ann", "ben"]);
    await members(ben, ["ann", "ben"]);
    assert.equal(await text(ann, "#room-title"), "# team");
    await say(ann, "after the restart");
    await seen(ben, "#messages li", "after the restart");
    await seen(ann, '#messages li.mine[data-state="delivered"]', "after the restart");
    await ann.close();
    await ben.close();
  });
});

describe("chat across two servers on Redis, in chromium", () => {
  let redis, browser;
  const servers = [];
  const bases = [];
  const pageErrors = [];

  before(async () => {
    const redisPort = await freePort();
    redis = spawn("redis-server", ["--port", String(redisPort), "--bind", HOST, "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await withTimeout(
      new Promise((resolve) => redis.stdout.on("data", (d) => String(d).includes("Ready to accept") && resolve())),
      WAIT,
      "redis-server to start",
    );
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      servers.push(await startChat(port, { REDIS_URL: `redis://${HOST}:${redisPort}/` }));
      bases.push(`http://${HOST}:${port}/`);
    }
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    for (const server of servers) await stop(server, "SIGTERM");
    if (redis) await stop(redis, "SIGTERM");
    assert.deepEqual(pageErrors, [], "script errors on the pages");
  });

  const openOn = (base, name, query = "") => openChat(browser, base, name, { query, pageErrors });

  test("two pages on two servers in one room chat and see each other", async () => {
    const one = await openOn(bases[0], "uma");
    const two = await openOn(bases[1], "vic", "?transport=polling");
    await members(one, ["uma", "vic"]);
    await members(two, ["uma", "vic"]);
    await one.fill("#text", "from server one");
    await one.click("#send");
    await seen(two, "#messages li", "from server one");
    await seen(one, '#messages li.mine[data-state="delivered"]', "from server one");
    await two.type("#text", "typing on two");
    await seen(one, "#typing", "vic is typing…");
    await two.click("#send");
    await seen(one, "#messages li", "typing on two");

    // A room made on one server appears on the other, and its history follows.
    await one.fill("#new-room", "both-servers");
    await one.click("#create");
    await seen(one, "#room-title", "# both-servers");
    await one.fill("#text", "said before vic came");
    await one.click("#send");
    await seen(one, '#messages li.mine[data-state="delivered"]', "said before vic came");
    await seen(two, "#rooms li", "# both-servers");
    await two.click('#rooms li[data-room="both-servers"] button');
    await seen(two, "#messages li", "said before vic came");
    await members(one, ["uma", "vic"]);
    await one.close();
    await two.close();
  });
});
