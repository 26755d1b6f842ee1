// Raw protocol checks (plain HTTP requests and the `ws` package) pinning the
// behaviour of Node's engine.io 6.6 on the wire.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import WebSocket from "ws";
import {
  EIO_PATH,
  HOST,
  MAX_PAYLOAD,
  PING_INTERVAL,
  PING_TIMEOUT,
  abortAllRequests,
  assertServerAlive,
  httpRequest,
  pollPost,
  pollUntil,
  pollingHandshake,
  sleep,
  startServer,
  withTimeout,
} from "./harness.mjs";

let server;
const sockets = new Set();

before(async () => {
  server = await startServer({ events: true });
});
afterEach(() => {
  abortAllRequests();
  for (const ws of sockets) ws.terminate();
  sockets.clear();
  assertServerAlive(server);
});
after(async () => {
  abortAllRequests();
  for (const ws of sockets) ws.terminate();
  await server?.stop();
});

const q = (sid) => `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;

/** A raw websocket with a queue of received frames. */
function openWs(query) {
  const ws = new WebSocket(`ws://${HOST}:${server.port}${EIO_PATH}?${query}`);
  sockets.add(ws);
  const frames = [];
  const waiters = [];
  let closeInfo = null;
  const closed = new Promise((resolve) => {
    ws.on("close", (code, reason) => {
      closeInfo = { code, reason: reason.toString() };
      resolve(closeInfo);
    });
  });
  ws.on("error", () => {}); // surfaces as close
  ws.on("message", (data, isBinary) => {
    frames.push({ data: isBinary ? Buffer.from(data) : data.toString("utf8"), isBinary });
    while (waiters.length && frames.length) waiters.shift()(frames.shift());
  });
  const next = (ms = 3000, what = "a websocket frame") =>
    withTimeout(
      new Promise((resolve) => {
        if (frames.length) resolve(frames.shift());
        else waiters.push(resolve);
      }),
      ms,
      what,
    );
  /** next frame that is not a ping; pings are answered with a pong */
  const nextNonPing = async (ms = 3000, what = "a websocket frame") => {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = await next(Math.max(1, deadline - Date.now()), what);
      if (!f.isBinary && f.data === "2") {
        ws.send("3");
        continue;
      }
      return f;
    }
  };
  const opened = withTimeout(
    new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("close", (code) => reject(new Error(`websocket closed before open (${code})`)));
      ws.once("unexpected-response", (req, res) => {
        const chunks = [];
        res.on("data", (d) => chunks.push(d));
        res.on("end", () => {
          const err = new Error(`websocket upgrade refused: HTTP ${res.statusCode}`);
          err.status = res.statusCode;
          err.body = Buffer.concat(chunks).toString("utf8");
          reject(err);
        });
        res.on("error", () => reject(new Error(`websocket upgrade refused: HTTP ${res.statusCode}`)));
      });
    }),
    3000,
    "websocket open",
  );
  return { ws, next, nextNonPing, opened, closed, get closeInfo() { return closeInfo; } };
}

const HANDSHAKE_FIELDS = { pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT, maxPayload: MAX_PAYLOAD };

describe("handshake", () => {
  test('polling handshake: 200, text/plain; charset=UTF-8, 0{"sid",upgrades:["websocket"],300,200,1000000}', async () => {
    const res = await httpRequest(server, { query: "EIO=4&transport=polling" });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "text/plain; charset=UTF-8");
    assert.equal(res.body[0], "0", `body ${res.body}`);
    const hs = JSON.parse(res.body.slice(1));
    assert.equal(typeof hs.sid, "string");
    assert.ok(hs.sid.length > 0);
    assert.deepEqual(hs, { sid: hs.sid, upgrades: ["websocket"], ...HANDSHAKE_FIELDS });
    const ev = await server.waitFor((e) => e.event === "connection" && e.sid === hs.sid, 2000, "connection line");
    assert.equal(ev.transport, "polling");
  });

  test("each handshake gets a distinct sid", async () => {
    const a = await pollingHandshake(server);
    const b = await pollingHandshake(server);
    assert.notEqual(a.sid, b.sid);
  });

  test('websocket handshake: first frame is text 0{"sid",upgrades:[],300,200,1000000}', async () => {
    const c = openWs("EIO=4&transport=websocket");
    await c.opened;
    const f = await c.next(2000, "handshake frame");
    assert.equal(f.isBinary, false);
    assert.equal(f.data[0], "0", `frame ${f.data}`);
    const hs = JSON.parse(f.data.slice(1));
    assert.deepEqual(hs, { sid: hs.sid, upgrades: [], ...HANDSHAKE_FIELDS });
    const ev = await server.waitFor((e) => e.event === "connection" && e.sid === hs.sid, 2000, "connection line");
    assert.equal(ev.transport, "websocket");
  });
});

describe("polling requests", () => {
  test("POST answers 200 ok; GET returns the echo with text/plain; charset=UTF-8", async () => {
    const { sid } = await pollingHandshake(server);
    const post = await pollPost(server, sid, "4hello");
    assert.equal(post.status, 200);
    assert.equal(post.body, "ok");
    const get = await httpRequest(server, { query: q(sid) });
    assert.equal(get.status, 200);
    assert.equal(get.headers["content-type"], "text/plain; charset=UTF-8");
    assert.equal(get.body, "4hello");
  });

  test("a payload of text and base64 binary packets is echoed packet by packet", async () => {
    const { sid } = await pollingHandshake(server);
    const payload = ["4héllo 🌍", "bAQID/w==", "4", "4x\ny"].join("\x1e");
    const post = await pollPost(server, sid, payload);
    assert.equal(post.status, 200);
    const packets = await pollUntil(server, sid, (p) => p === "4x\ny", 2000);
    assert.deepEqual(packets.filter((p) => p !== "2"), ["4héllo 🌍", "bAQID/w==", "4", "4x\ny"]);
  });

  test("the server pings a long-poll after pingInterval; answering pongs keeps the session", async () => {
    const { sid } = await pollingHandshake(server);
    const t0 = Date.now();
    const get = await httpRequest(server, { query: q(sid) });
    const elapsed = Date.now() - t0;
    assert.equal(get.status, 200);
    assert.equal(get.body, "2");
    assert.ok(elapsed >= PING_INTERVAL - 100 && elapsed <= PING_INTERVAL + 400, `ping after ${elapsed} ms`);
    assert.equal((await pollPost(server, sid, "3")).status, 200);
    // two more rounds: still alive after > 3 ping intervals
    for (let i = 0; i < 2; i++) {
      const g = await httpRequest(server, { query: q(sid) });
      assert.equal(g.status, 200);
      assert.equal(g.body, "2");
      assert.equal((await pollPost(server, sid, "3")).status, 200);
    }
    assert.equal(server.events((e) => e.event === "close" && e.sid === sid).length, 0);
    await pollPost(server, sid, "1");
  });

  test('a second concurrent GET: the first returns "1", the second 400, then the sid is unknown', async () => {
    const { sid } = await pollingHandshake(server);
    const first = httpRequest(server, { query: q(sid) });
    await sleep(50);
    const second = await httpRequest(server, { query: q(sid) });
    assert.equal(second.status, 400);
    const firstRes = await first;
    assert.equal(firstRes.status, 200);
    assert.equal(firstRes.body, "1");
    const after = await httpRequest(server, { query: q(sid) });
    assert.equal(after.status, 400);
    assert.deepEqual(JSON.parse(after.body), { code: 1, message: "Session ID unknown" });
    const ev = await server.waitFor((e) => e.event === "close" && e.sid === sid, 2000, "close line");
    assert.equal(ev.reason, "transport error");
  });

  test('a POST of "1" (close) makes the pending GET return "6" (noop), then the sid is unknown', async () => {
    const { sid } = await pollingHandshake(server);
    const pending = httpRequest(server, { query: q(sid) });
    await sleep(50);
    const post = await pollPost(server, sid, "1");
    assert.equal(post.status, 200);
    assert.equal(post.body, "ok");
    const got = await pending;
    assert.equal(got.status, 200);
    assert.equal(got.body, "6");
    const after = await httpRequest(server, { query: q(sid) });
    assert.equal(after.status, 400);
    assert.deepEqual(JSON.parse(after.body), { code: 1, message: "Session ID unknown" });
    const ev = await server.waitFor((e) => e.event === "close" && e.sid === sid, 2000, "close line");
    assert.equal(ev.reason, "transport close");
  });
});

describe("errors are JSON {code, message} with HTTP 400", () => {
  const cases = [
    ["unknown transport", { query: "EIO=4&transport=carrier-pigeon" }, 0, "Transport unknown"],
    ["missing transport", { query: "EIO=4" }, 0, "Transport unknown"],
    ["unknown sid", { query: "EIO=4&transport=polling&sid=nope-not-a-session" }, 1, "Session ID unknown"],
    ["handshake by POST", { method: "POST", query: "EIO=4&transport=polling", body: "4hi" }, 2, "Bad handshake method"],
    ["EIO=3", { query: "EIO=3&transport=polling" }, 5, "Unsupported protocol version"],
    ["missing EIO", { query: "transport=polling" }, 5, "Unsupported protocol version"],
  ];
  for (const [name, req, code, message] of cases) {
    test(`${name} -> 400 {"code":${code},"message":"${message}"}`, async () => {
      const res = await httpRequest(server, req);
      assert.equal(res.status, 400);
      assert.match(res.headers["content-type"] ?? "", /^application\/json/);
      assert.deepEqual(JSON.parse(res.body), { code, message });
    });
  }

  // Node answers a refused websocket upgrade with a bare "HTTP/1.1 400" whose
  // text/html body is the message alone (not the JSON object).
  test('websocket upgrade with an unknown sid is refused with 400 "Session ID unknown"', async () => {
    const c = openWs("EIO=4&transport=websocket&sid=nope-not-a-session");
    const err = await c.opened.then(
      () => assert.fail("websocket with an unknown sid was accepted"),
      (e) => e,
    );
    assert.equal(err.status, 400, err.message);
    assert.match(err.body, /Session ID unknown/);
  });
});

describe("CORS (origin \"*\")", () => {
  test('a request with Origin gets Access-Control-Allow-Origin: "*"', async () => {
    const res = await httpRequest(server, {
      query: "EIO=4&transport=polling",
      headers: { origin: "http://example.com" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers["access-control-allow-origin"], "*");
    const err = await httpRequest(server, {
      query: "EIO=4&transport=nope",
      headers: { origin: "http://example.com" },
    });
    assert.equal(err.status, 400);
    assert.equal(err.headers["access-control-allow-origin"], "*", "error responses carry CORS headers too");
  });

  test("an OPTIONS preflight gets an ok status with the allow headers", async () => {
    const res = await httpRequest(server, {
      method: "OPTIONS",
      query: "EIO=4&transport=polling",
      headers: {
        origin: "http://example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    // Node's cors package answers 204, tower-http's CorsLayer 200: browsers accept any ok
    // status (200-299) for a preflight, so both pass the CORS check.
    assert.ok(res.status >= 200 && res.status < 300, `preflight answered ${res.status}, headers ${JSON.stringify(res.headers)}`);
    assert.equal(res.body, "");
    assert.equal(res.headers["access-control-allow-origin"], "*");
    // Node sends "GET,HEAD,PUT,PATCH,POST,DELETE" and reflects the requested
    // headers ("content-type"); "*" is an equally valid answer for a request
    // without credentials (which origin "*" implies).
    const list = (h) => (res.headers[h] ?? "").split(",").map((v) => v.trim().toLowerCase());
    const methods = list("access-control-allow-methods");
    for (const m of ["get", "post"]) {
      assert.ok(methods.includes(m) || methods.includes("*"), `Allow-Methods ${JSON.stringify(methods)} lacks ${m}`);
    }
    const headers = list("access-control-allow-headers");
    assert.ok(headers.includes("content-type") || headers.includes("*"), `Allow-Headers ${JSON.stringify(headers)}`);
  });
});

describe("raw websocket", () => {
  test("text and binary frames are echoed as text and binary frames", async () => {
    const c = openWs("EIO=4&transport=websocket");
    await c.opened;
    await c.next(2000, "handshake");
    c.ws.send("4hi there");
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    c.ws.send(bytes);
    const t = await c.nextNonPing(2000, "text echo");
    assert.deepEqual(t, { data: "4hi there", isBinary: false });
    const b = await c.nextNonPing(2000, "binary echo");
    assert.equal(b.isBinary, true);
    assert.ok(b.data.equals(bytes), `binary echo ${b.data.toString("hex")}`);
  });

  test("server pings over websocket every pingInterval and closes on a missing pong", async () => {
    const c = openWs("EIO=4&transport=websocket");
    await c.opened;
    const hs = JSON.parse((await c.next(2000, "handshake")).data.slice(1));
    const t0 = Date.now();
    const ping = await c.next(2000, "ping");
    assert.deepEqual(ping, { data: "2", isBinary: false });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= PING_INTERVAL - 100 && elapsed <= PING_INTERVAL + 400, `first ping after ${elapsed} ms`);
    // no pong: the server closes the websocket
    await withTimeout(c.closed, 2000, "server closes the websocket");
    const ev = await server.waitFor((e) => e.event === "close" && e.sid === hs.sid, 2000, "close line");
    assert.equal(ev.reason, "ping timeout");
  });

  test("a frame over maxPayload closes the websocket with code 1009", async () => {
    const c = openWs("EIO=4&transport=websocket");
    await c.opened;
    const hs = JSON.parse((await c.next(2000, "handshake")).data.slice(1));
    c.ws.send("4" + "x".repeat(MAX_PAYLOAD));
    const info = await withTimeout(c.closed, 3000, "websocket close");
    assert.equal(info.code, 1009, `websocket closed with code ${info.code} (1005 = no status code in the close frame)`);
    const ev = await server.waitFor((e) => e.event === "close" && e.sid === hs.sid, 2000, "close line");
    assert.equal(ev.reason, "transport error");
  });

  test('upgrade from polling: 2probe -> 3probe, pending GET answered "6", 5 completes the upgrade', async () => {
    const { sid } = await pollingHandshake(server);
    const pending = httpRequest(server, { query: q(sid) });
    await sleep(30);
    const c = openWs(`EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`);
    await c.opened;
    c.ws.send("2probe");
    const probe = await c.next(2000, "3probe");
    assert.deepEqual(probe, { data: "3probe", isBinary: false });
    const got = await pending;
    assert.equal(got.status, 200);
    assert.equal(got.body, "6", "the pending long-poll is released with a noop");
    c.ws.send("5");
    const ev = await server.waitFor((e) => e.event === "upgrade" && e.sid === sid, 2000, "upgrade line");
    assert.equal(ev.transport, "websocket");
    c.ws.send("4over websocket");
    const echo = await c.nextNonPing(2000, "echo over upgraded websocket");
    assert.deepEqual(echo, { data: "4over websocket", isBinary: false });
    assert.equal(server.events((e) => e.event === "close" && e.sid === sid).length, 0);
  });
});
