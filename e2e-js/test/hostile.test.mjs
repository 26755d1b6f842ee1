// Hostile input against the socket.io server (sio-conformance), with a healthy client making
// acked round trips the whole time: every bad input gets the protocol's answer (an HTTP status,
// a close), the healthy client never sees an error, and the server's log shows no panic.
import assert from "node:assert/strict";
import { after } from "node:test";
import WebSocket from "ws";
import { HOST, sioServerKind, sleep, withTimeout } from "./harness.mjs";
import { io } from "socket.io-client";
import { useSioServer } from "./sio-harness.mjs";

const ctx = useSioServer("sio-conformance");
const { test } = ctx;
const WAIT = 5000;

// --- the healthy client --------------------------------------------------------------------

let healthy;
let roundTrips = 0;
const failures = [];
let running = false;
let loop;

/** Starts the healthy client's loop once, at the first test (after the server started). */
async function startHealthy() {
  if (running) return;
  // Not in the pool, which closes its clients after each test: this one lives for the file.
  healthy = io(ctx.server.url, { transports: ["websocket"], forceNew: true });
  await withTimeout(new Promise((resolve) => healthy.once("connect", resolve)), WAIT, "the healthy client");
  running = true;
  loop = (async () => {
    for (let i = 0; running; i++) {
      try {
        const n = await healthy.timeout(WAIT).emitWithAck("message-with-ack", i);
        if (n !== i) failures.push(`round trip ${i} came back as ${n}`);
        roundTrips++;
      } catch (error) {
        if (running) failures.push(`round trip ${i}: ${error.message}`);
      }
      await sleep(5);
    }
  })();
}

after(async () => {
  running = false;
  await loop;
  healthy?.close();
});

/** After each bad input: the healthy client still gets answers, and nothing panicked. */
async function stillHealthy() {
  await startHealthy();
  const before_ = roundTrips;
  await withTimeout(
    (async () => {
      while (roundTrips < before_ + 3) await sleep(5);
    })(),
    WAIT,
    "the healthy client's next round trips",
  );
  assert.deepEqual(failures, [], "the healthy client saw errors");
  assert.ok(!/panicked/.test(ctx.server.describe()), ctx.server.describe());
}

// --- raw HTTP and WebSocket ----------------------------------------------------------------

const base = () => `http://${HOST}:${ctx.server.port}/socket.io/`;

async function http(method, query, body, headers = {}) {
  const response = await fetch(base() + query, { method, body, headers });
  const text = await response.text();
  return { status: response.status, text };
}

async function handshake() {
  const { status, text } = await http("GET", "?EIO=4&transport=polling");
  assert.equal(status, 200, text);
  return JSON.parse(text.slice(1)).sid;
}

/** A raw WebSocket on the engine; resolves with it once the open packet arrived. */
function rawSocket() {
  const ws = new WebSocket(`ws://${HOST}:${ctx.server.port}/socket.io/?EIO=4&transport=websocket`);
  ws.closed = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
  // The server pings every 300 ms: a raw socket that did not answer would be closed for that.
  ws.on("message", (m) => String(m) === "2" && ws.readyState === WebSocket.OPEN && ws.send("3"));
  return withTimeout(
    new Promise((resolve, reject) => {
      ws.once("message", () => resolve(ws));
      ws.once("error", reject);
    }),
    WAIT,
    "a raw websocket",
  );
}

/** A raw WebSocket connected to "/" (the CONNECT answered). */
async function connectedSocket() {
  const ws = await rawSocket();
  const connected = new Promise((resolve) => ws.on("message", (m) => String(m).startsWith("40") && resolve()));
  ws.send("40");
  await withTimeout(connected, WAIT, "the CONNECT answer");
  return ws;
}

const closes = (ws, what) => withTimeout(ws.closed, WAIT, `${what}: the server closes the connection`);

/** Writes a frame straight to the TCP socket: unmasked when `mask` is false. */
function rawFrame(ws, payload, { mask = true, opcode = 0x1 } = {}) {
  const header = Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | payload.length]);
  // A zero mask key leaves the payload as it is.
  ws._socket.write(Buffer.concat([header, mask ? Buffer.alloc(4) : Buffer.alloc(0), payload]));
}

// --- the battery ---------------------------------------------------------------------------

test("engine requests with bad parameters get the spec's error codes", async () => {
  await startHealthy();
  const cases = [
    ["GET", "?transport=polling", 400, 5],
    ["GET", "?EIO=3&transport=polling", 400, 5],
    ["GET", "?EIO=4", 400, 0],
    ["GET", "?EIO=4&transport=carrier-pigeon", 400, 0],
    ["GET", "?EIO=4&transport=polling&sid=nope", 400, 1],
    ["POST", "?EIO=4&transport=polling", 400, 2],
    ["PUT", "?EIO=4&transport=polling", 400, null],
    ["DELETE", "?EIO=4&transport=polling", 400, null],
  ];
  for (const [method, query, status, code] of cases) {
    const got = await http(method, query, method === "PUT" ? "x" : undefined);
    assert.equal(got.status, status, `${method} ${query}: ${got.text}`);
    if (code !== null) assert.equal(JSON.parse(got.text).code, code, `${method} ${query}`);
  }
  await stillHealthy();
});

test("malformed polling bodies end their session", async () => {
  await startHealthy();
  const bodies = [["not a packet", "x"]];
  // Node decodes invalid UTF-8 and invalid base64 leniently (replacement characters, skipped
  // characters) and keeps the session; ours refuses both (README: differences from Node).
  if (sioServerKind === "rust") {
    bodies.push(["invalid UTF-8", Buffer.from([0x34, 0xff, 0xfe, 0xfd])]);
    bodies.push(["invalid base64", "bnot*base64!"]);
  }
  for (const [what, body] of bodies) {
    const sid = await handshake();
    // Node answers the POST itself with 200 "ok" and closes the session while parsing it.
    await http("POST", `?EIO=4&transport=polling&sid=${sid}`, body, {
      "content-type": "text/plain;charset=UTF-8",
    });
    const after_ = await http("GET", `?EIO=4&transport=polling&sid=${sid}`);
    assert.equal(after_.status, 400, `${what}: the session is gone (${after_.text})`);
    assert.equal(JSON.parse(after_.text).code, 1, what);
  }
  await stillHealthy();
});

test("a polling body over the limit gets 413", async () => {
  await startHealthy();
  const sid = await handshake();
  const posted = await http("POST", `?EIO=4&transport=polling&sid=${sid}`, "4" + "a".repeat(1_000_001));
  assert.equal(posted.status, 413);
  await stillHealthy();
});

test("bad WebSocket frames close with the matching close code", async () => {
  await startHealthy();
  const tooBig = await rawSocket();
  tooBig.send("4" + "a".repeat(1_000_001));
  assert.equal(await closes(tooBig, "a frame over the limit"), 1009);

  const unmasked = await rawSocket();
  rawFrame(unmasked, Buffer.from("4hi"), { mask: false });
  assert.equal(await closes(unmasked, "an unmasked frame"), 1002);

  const badUtf8 = await rawSocket();
  rawFrame(badUtf8, Buffer.from([0x34, 0xff, 0xfe]));
  assert.equal(await closes(badUtf8, "invalid UTF-8 in a text frame"), 1007);

  const truncated = await rawSocket();
  truncated._socket.write(Buffer.from([0x81, 0xfe, 0x00])); // a 16-bit length cut short
  truncated._socket.end();
  await closes(truncated, "a truncated frame");
  await stillHealthy();
});

test("socket.io packets that break the protocol close the connection", async () => {
  await startHealthy();
  const cases = [
    ["a malformed packet", ["4{"]],
    ["an unknown packet type", ["49"]],
    ["a non-numeric ack id", ['42abc["x"]']],
    ["an event for a namespace never joined", ['42/never,["x"]']],
    ["a second CONNECT to the same namespace", ["40"]],
    ["a reserved event name", ['42["disconnect"]']],
    ["too many binary attachments", [`4511-["x",${'{"_placeholder":true,"num":0},'.repeat(10)}{"_placeholder":true,"num":10}]`]],
    ["text where an attachment was due", ['451-["x",{"_placeholder":true,"num":0}]', '42["y"]']],
  ];
  for (const [what, packets] of cases) {
    const ws = await connectedSocket();
    for (const packet of packets) ws.send(packet);
    await closes(ws, what);
  }
  await stillHealthy();
});

test("an ack for an id never sent is ignored and the connection goes on", async () => {
  await startHealthy();
  const ws = await connectedSocket();
  ws.send("4399[1]");
  const echoed = new Promise((resolve) => ws.on("message", (m) => String(m).startsWith("431[") && resolve(String(m))));
  ws.send('421["message-with-ack","still here"]');
  assert.equal(await withTimeout(echoed, WAIT, "the ack after the stray ack"), '431["still here"]');
  ws.close();
  await stillHealthy();
});

test("a flood of 10,000 small packets is handled in order while the healthy client goes on", async () => {
  await startHealthy();
  const ws = await connectedSocket();
  let last = -1;
  let outOfOrder = 0;
  const done = new Promise((resolve) =>
    ws.on("message", (m) => {
      const text = String(m);
      if (!text.startsWith("43")) return;
      const id = Number(text.slice(2, text.indexOf("[")));
      if (id !== last + 1) outOfOrder++;
      last = id;
      if (id === 9999) resolve();
    }),
  );
  for (let i = 0; i < 10_000; i++) ws.send(`42${i}["message-with-ack",${i}]`);
  await withTimeout(done, 20_000, "10,000 acks");
  assert.equal(outOfOrder, 0);
  ws.close();
  // Node's server, busy with the flood, misses the contract's 300 + 200 ms heartbeat and the
  // healthy client drops ("socket has been disconnected"): what follows holds for ours only.
  if (sioServerKind === "node") return;
  await stillHealthy();
  assert.ok(roundTrips > 20, `the healthy client made ${roundTrips} round trips`);
});
