// The chat behind a real load balancer: two chat processes on one Redis, behind Debian's nginx
// configured as Node's socket.io docs describe (ip_hash for stickiness, the Upgrade headers for
// WebSocket); the README's "Behind a load balancer" has the same configuration. Pages reach the
// chat through nginx over long-polling and over WebSocket and talk with pages on each server.
// A second nginx without stickiness shows why polling needs it: a session's next request lands
// on the other server, which does not know it.
//
// Needs nginx (scripts/test-all.sh installs it; NGINX=<path> names another), chromium and the
// chat binary, as chat-browser.test.mjs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { CHAT_BIN, CHROMIUM, WAIT, launchChromium, members, openChat, seen, startChat, stopChild } from "./chat-harness.mjs";
import { HOST, freePort, httpRequest, withTimeout } from "./harness.mjs";
import { startRedis } from "./redis-harness.mjs";

const NGINX = process.env.NGINX ?? "/usr/sbin/nginx";

/** The nginx configuration of the README, for `upstreams` on `port`; sticky or round-robin. */
function nginxConfig(dir, port, upstreams, sticky) {
  return `
worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  map $http_upgrade $connection_upgrade { default upgrade; "" close; }
  upstream chat {
    ${sticky ? "ip_hash;" : ""}
    ${upstreams.map((p) => `server ${HOST}:${p};`).join("\n    ")}
  }
  server {
    listen ${HOST}:${port};
    location / {
      proxy_pass http://chat;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout 60s;
    }
  }
}
`;
}

/** An nginx in front of `upstreams`, on a free port, until `stop`. */
async function startNginx(upstreams, { sticky }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chat-nginx-"));
  const port = await freePort();
  const conf = path.join(dir, "nginx.conf");
  writeFileSync(conf, nginxConfig(dir, port, upstreams, sticky));
  const child = spawn(NGINX, ["-c", conf, "-p", dir, "-g", "daemon off;"], { stdio: ["ignore", "inherit", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  // Listening once a request gets an answer from a chat server behind it.
  const deadline = Date.now() + WAIT;
  for (;;) {
    const answer = await httpRequest({ port }, { path: "/", timeoutMs: 1000 }).catch(() => null);
    if (answer?.status === 200) break;
    assert.ok(child.exitCode === null, `nginx exited (${child.exitCode}); see ${dir}/error.log`);
    assert.ok(Date.now() < deadline, "nginx did not answer");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await withTimeout(exited, WAIT, "nginx to exit");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { port, base: `http://${HOST}:${port}/`, stop };
}

describe("the chat behind nginx, two servers on Redis", () => {
  let redis, browser, sticky, roundRobin;
  const chats = [];
  const direct = [];
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(NGINX), `no nginx at ${NGINX}: apt-get install -y nginx, or set NGINX`);
    assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}`);
    assert.ok(existsSync(CHAT_BIN), `no chat binary at ${CHAT_BIN}: cargo build -p chat`);
    redis = await startRedis();
    const ports = [await freePort(), await freePort()];
    for (const port of ports) {
      chats.push(await startChat(port, { REDIS_URL: `${redis.url}/` }));
      direct.push(`http://${HOST}:${port}/`);
    }
    sticky = await startNginx(ports, { sticky: true });
    roundRobin = await startNginx(ports, { sticky: false });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await sticky?.stop();
    await roundRobin?.stop();
    for (const chat of chats) await stopChild(chat);
    await redis?.stop();
    assert.deepEqual(pageErrors, [], "script errors on the pages");
  });

  const open = (base, name, query) => openChat(browser, base, name, { query, pageErrors });
  const transportOf = (page) => page.evaluate(() => window.chat.socket.io.engine.transport.name);

  test("pages through the balancer, on polling and on WebSocket, chat with a page on each server", async () => {
    const polling = await open(sticky.base, "pia", "?transport=polling");
    const websocket = await open(sticky.base, "wes", "?transport=websocket");
    // One page straight on each server: whichever server nginx chose, one of them is the other.
    const one = await open(direct[0], "oli", "");
    const two = await open(direct[1], "tom", "");
    assert.equal(await transportOf(polling), "polling");
    assert.equal(await transportOf(websocket), "websocket");
    const everyone = ["pia", "wes", "oli", "tom"];
    for (const page of [polling, websocket, one, two]) await members(page, everyone);

    await polling.fill("#text", "sent over polling through nginx");
    await polling.click("#send");
    for (const page of [websocket, one, two]) await seen(page, "#messages li", "sent over polling through nginx");
    await seen(polling, '#messages li.mine[data-state="delivered"]', "sent over polling through nginx");
    await two.fill("#text", "sent straight to the second server");
    await two.click("#send");
    for (const page of [polling, websocket]) await seen(page, "#messages li", "sent straight to the second server");
    // Polling kept its session on one server throughout: still connected, never re-handshaken.
    assert.equal(await polling.evaluate(() => window.chat.socket.connected), true);
    for (const page of [polling, websocket, one, two]) await page.close();
  });

  test("without stickiness a polling session's next request reaches the other server, which refuses it", async () => {
    const open = await httpRequest({ port: roundRobin.port }, { path: "/socket.io/", query: "EIO=4&transport=polling" });
    assert.equal(open.status, 200);
    const { sid } = JSON.parse(open.body.slice(1));
    // Round robin with two servers: of the next two requests, one goes to the other server.
    const answers = [];
    for (let i = 0; i < 2; i++) {
      const post = await httpRequest(
        { port: roundRobin.port },
        { method: "POST", path: "/socket.io/", query: `EIO=4&transport=polling&sid=${sid}`, body: "40" },
      );
      answers.push(post.status === 400 ? JSON.parse(post.body) : post.status);
    }
    assert.ok(
      answers.some((a) => a?.code === 1 && a?.message === "Session ID unknown"),
      `one of the requests met the server that does not know the session: ${JSON.stringify(answers)}`,
    );
    // The same requests through the sticky balancer all reach the session's server.
    const stickyOpen = await httpRequest({ port: sticky.port }, { path: "/socket.io/", query: "EIO=4&transport=polling" });
    const stickySid = JSON.parse(stickyOpen.body.slice(1)).sid;
    const post = await httpRequest(
      { port: sticky.port },
      { method: "POST", path: "/socket.io/", query: `EIO=4&transport=polling&sid=${stickySid}`, body: "40" },
    );
    assert.equal(post.status, 200);
    const connected = await httpRequest({ port: sticky.port }, { path: "/socket.io/", query: `EIO=4&transport=polling&sid=${stickySid}` });
    assert.match(connected.body, /^40\{"sid":/);
  });
});
