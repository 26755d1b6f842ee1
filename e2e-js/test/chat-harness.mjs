// What the chat's browser tests share: the chat binary started and stopped, Debian's chromium,
// a page logged in, and waits on what a page shows. Needs /usr/bin/chromium (or CHROMIUM) and
// the chat binary (cargo build -p chat, or CHAT_BIN).
import { spawn } from "node:child_process";
import path from "node:path";
import { chromium } from "playwright-core";
import { E2E_ROOT, HOST, REPO_ROOT, withTimeout } from "./harness.mjs";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const CHAT_BIN = process.env.CHAT_BIN ?? path.join(REPO_ROOT, "target", "debug", "chat");
/** The browser client the chat serves: e2e-js's own copy from npm. */
export const CLIENT_DIR = path.join(E2E_ROOT, "node_modules", "socket.io-client", "dist");
export const WAIT = 10_000;

/**
 * Starts the chat on `port` with `env` on top of ours; resolves once it listens. `clientDir`
 * null starts it with no client copy named (it then finds or fetches one itself); `wait`
 * bounds the start. The child keeps what it printed in `out` and `log`.
 */
export function startChat(port, env = {}, { clientDir = CLIENT_DIR, wait = WAIT } = {}) {
  const { SOCKETIO_CLIENT_DIR: _, ...inherited } = process.env;
  const client = clientDir ? { SOCKETIO_CLIENT_DIR: clientDir } : {};
  const child = spawn(CHAT_BIN, [], {
    env: { ...inherited, PORT: String(port), RUST_LOG: "warn", ...client, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.out = "";
  child.log = "";
  child.stderr.on("data", (d) => (child.log += d));
  const listening = new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      child.out += d;
      if (child.out.includes(`http://${HOST}:${port}/`)) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`chat exited (${code}) before listening: ${child.out}${child.log}`)));
  });
  return withTimeout(listening, wait, "the chat server to listen");
}

/** Stops a child process with `signal` and waits for it to exit. */
export function stopChild(child, signal = "SIGTERM") {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  return withTimeout(exited, WAIT, `the process to exit on ${signal}`);
}

/** Debian's chromium, headless (--no-sandbox: CI runs as root, where the sandbox refuses). */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

/**
 * A new tab (its own context: no shared storage) on the chat at `base` + `query`, its socket
 * connected, logged in as `name` unless it is null; its script errors go to `pageErrors`.
 */
export async function openChat(browser, base, name, { query = "", pageErrors = [] } = {}) {
  const page = await browser.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${name}: ${error.message}`));
  await page.goto(base + query);
  await page.waitForFunction(() => window.chat?.socket.connected, null, { timeout: WAIT });
  if (name) {
    await page.fill("#nick", name);
    await page.click("#login");
    await page.waitForFunction(() => !document.getElementById("login-dialog").open, null, { timeout: WAIT });
  }
  return page;
}

/** Waits until some element matching `selector` contains `wanted`. */
export function seen(page, selector, wanted) {
  return page.waitForFunction(
    ([s, t]) => [...document.querySelectorAll(s)].some((e) => e.textContent.includes(t)),
    [selector, wanted],
    { timeout: WAIT },
  );
}

/** Waits until the member list shows exactly `names`, in any order. */
export function members(page, names) {
  return page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll("#members li")].map((e) => e.textContent).sort()) === want,
    JSON.stringify([...names].sort()),
    { timeout: WAIT },
  );
}
