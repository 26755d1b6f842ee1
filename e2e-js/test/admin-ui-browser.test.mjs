// The official Admin UI from npm (@socket.io/admin-ui's ui/dist, served by the chat at /admin/
// with ADMIN_PASSWORD) driving the chat in chromium: log in, see the chat's sockets and rooms,
// watch a message event arrive, disconnect a page's socket from the UI and see that page
// reconnect. The screenshot goes to artifacts/admin-ui.png.
//
// Needs what chat-browser.test.mjs needs (chromium, the chat binary) and `npm ci` here.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { CHAT_BIN, CHROMIUM, WAIT, launchChromium, openChat, seen, startChat, stopChild } from "./chat-harness.mjs";
import { E2E_ROOT, HOST, freePort, withTimeout } from "./harness.mjs";

const SCREENSHOT = path.join(E2E_ROOT, "artifacts", "admin-ui.png");
const UI_DIR = path.join(E2E_ROOT, "node_modules", "@socket.io", "admin-ui", "ui", "dist");
const PASSWORD = "correct horse";

describe("the official admin UI on the chat, in chromium", () => {
  let server, browser, base;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}`);
    assert.ok(existsSync(CHAT_BIN), `no chat binary at ${CHAT_BIN}: cargo build -p chat`);
    assert.ok(existsSync(path.join(UI_DIR, "index.html")), "@socket.io/admin-ui is not installed: npm ci");
    const port = await freePort();
    base = `http://${HOST}:${port}/`;
    server = await startChat(port, { ADMIN_PASSWORD: PASSWORD, ADMIN_UI_DIR: UI_DIR });
    assert.match(server.out, /admin UI on http:\/\/.*\/admin\//);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (server) await stopChild(server);
  });

  /** A tab on the UI, logged in to the chat. */
  async function openUi(password = PASSWORD) {
    const ui = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // The UI's fonts and icons come from CDNs this machine may not reach: refuse them at once.
    await ui.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
    await ui.goto(`${base}admin/`);
    await ui.getByLabel("Server URL").fill(base.replace(/\/$/, ""));
    await ui.getByLabel("Username").fill("admin");
    await ui.getByLabel("Password").fill(password);
    await ui.getByRole("button", { name: "Connect" }).click();
    return ui;
  }

  test("a wrong password is refused on the UI's form", { timeout: 30_000 }, async () => {
    const ui = await openUi("wrong");
    await ui.getByText("Invalid credentials").waitFor({ timeout: WAIT });
    await ui.close();
  });

  test("log in, see the chat's sockets and rooms, a message event, and disconnect a page", { timeout: 60_000 }, async () => {
    const ann = await openChat(browser, base, "ann", { pageErrors });
    const bob = await openChat(browser, base, "bob", { pageErrors });
    const annId = await ann.evaluate(() => window.chat.socket.id);

    const ui = await openUi();
    // The dashboard, then the sockets: both pages' sockets are listed by id.
    await ui.getByRole("button", { name: "Connect" }).waitFor({ state: "hidden", timeout: WAIT });
    await ui.goto(`${base}admin/#/sockets/`);
    await seen(ui, "td", annId);

    // The rooms the chat made the pages join.
    await ui.goto(`${base}admin/#/rooms/`);
    await seen(ui, "td", "general");

    // A message from a page arrives as an event.
    await ui.goto(`${base}admin/#/events/`);
    await ann.fill("#text", "hello from ann");
    await ann.press("#text", "Enter");
    await seen(bob, "#messages", "hello from ann");
    // A row per event; its arguments show when the row is opened.
    const row = ui.locator("tr", { hasText: annId }).filter({ hasText: "Event received" }).filter({ hasText: "message" });
    await row.first().waitFor({ timeout: WAIT });
    // (its chevron icon comes from a CDN, so the button may look empty here)
    await row.first().locator("button").first().click();
    await seen(ui, "pre", "hello from ann");

    // Disconnect ann's socket from its page in the UI; the chat page reconnects by itself.
    await ui.goto(`${base}admin/#/n/%2F/sockets/${annId}`);
    await ui.getByText("Socket details").waitFor({ timeout: WAIT });
    // Listening before the click, and known to listen: the page keeps the reason for later.
    await ann.evaluate(() => {
      window.disconnectReason = new Promise((resolve) => window.chat.socket.once("disconnect", resolve));
    });
    // The socket's status row has the button that disconnects the socket alone (_disconnect
    // with close false); the client's status row, first, has one that closes the connection.
    await ui.locator("tr", { hasText: "Status" }).nth(1).locator("button").click({ timeout: WAIT });
    const reason = await withTimeout(ann.evaluate(() => window.disconnectReason), WAIT, "ann's socket to be disconnected");
    assert.equal(reason, "io server disconnect");
    await ann.waitForFunction((old) => window.chat.socket.connected && window.chat.socket.id !== old, annId, {
      timeout: WAIT,
    });

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await ui.goto(`${base}admin/#/sockets/`);
    const newId = await ann.evaluate(() => window.chat.socket.id);
    await seen(ui, "td", newId);
    await ui.waitForFunction(
      (old) => ![...document.querySelectorAll("td")].some((e) => e.textContent.includes(old)),
      annId,
      { timeout: WAIT },
    );
    await ui.waitForTimeout(1000); // the page fades in
    await ui.screenshot({ path: SCREENSHOT });
    assert.deepEqual(pageErrors, []);
  });
});
