// Abandoned sessions are reaped by the heartbeat (sio-conformance: ping_interval 300 ms,
// ping_timeout 200 ms): long-polling sessions whose client vanished after joining "/" (no GET
// ever again) and WebSockets that go silent (joined, then never answer a ping) are closed no
// sooner than ping_interval + ping_timeout after they opened, and not much later, and the server
// frees them: its counts of connections and sockets (and, for ours, of tokio tasks) return to
// where they were.
import assert from "node:assert/strict";
import { after } from "node:test";
import WebSocket from "ws";
import { io } from "socket.io-client";
import { HOST, httpRequest, sleep, withTimeout } from "./harness.mjs";
import { SIO_PATH, SIO_PING_INTERVAL, SIO_PING_TIMEOUT, useSioServer } from "./sio-harness.mjs";

const ctx = useSioServer("sio-conformance");
const { test } = ctx;

const HEARTBEAT = SIO_PING_INTERVAL + SIO_PING_TIMEOUT;
/** How much sooner than HEARTBEAT a close may be seen: timer rounding only. */
const EARLY_MS = 50;
/** How much later than HEARTBEAT a close may be seen: scheduling on a busy machine, and the
 * 20 ms between two looks at the counts. */
const LATE_MS = 1500;
/** Abandoned sessions of each kind, opened at once. */
const SESSIONS = 20;
const WAIT = 5000;

let observer;

/** The client that asks for the counts; it lives for the file, and answers its pings. */
async function stats() {
  if (!observer) {
    observer = io(ctx.server.url, { transports: ["websocket"], forceNew: true, reconnection: false });
    await withTimeout(new Promise((resolve) => observer.once("connect", resolve)), WAIT, "the observer to connect");
  }
  return observer.timeout(WAIT).emitWithAck("stats");
}

after(() => observer?.close());

/** Looks at the counts every 20 ms until `done(counts)`; resolves with the time it first held. */
async function until(done, what) {
  const deadline = Date.now() + HEARTBEAT + LATE_MS + WAIT;
  for (;;) {
    const counts = await stats();
    if (done(counts)) return Date.now();
    assert.ok(Date.now() < deadline, `${what}: counts still ${JSON.stringify(counts)}`);
    await sleep(20);
  }
}

/** The counts are back to `baseline`; our server's tasks too (Node has no such count). */
async function freed(baseline, what) {
  await until(
    (now) => now.clients === baseline.clients && now.sockets === baseline.sockets && (baseline.tasks === null || now.tasks <= baseline.tasks),
    `${what}: back to ${JSON.stringify(baseline)}`,
  );
}

const poll = (query, extra = {}) => httpRequest(ctx.server, { path: SIO_PATH, query: `EIO=4&transport=polling${query}`, ...extra });

/** A long-polling client that joins "/" and is never heard of again. Resolves once joined. */
async function abandonedPolling() {
  const handshake = await poll("");
  assert.equal(handshake.status, 200, handshake.body);
  const { sid } = JSON.parse(handshake.body.slice(1));
  const posted = await poll(`&sid=${sid}`, {
    method: "POST",
    headers: { "content-type": "text/plain;charset=UTF-8" },
    body: "40",
  });
  assert.equal(posted.status, 200, posted.body);
  const joined = await poll(`&sid=${sid}`);
  assert.ok(joined.body.startsWith("40{"), `the CONNECT answer: ${joined.body}`);
  return sid;
}

/** A WebSocket client that joins "/", then never answers a ping. Resolves once joined with
 * { start, closed (a promise of the time the server closed it), pings (a count) }. */
function silentWebSocket() {
  const start = Date.now();
  const ws = new WebSocket(`ws://${HOST}:${ctx.server.port}${SIO_PATH}?EIO=4&transport=websocket`);
  const client = { start, pings: 0 };
  client.closed = new Promise((resolve) => ws.once("close", () => resolve(Date.now())));
  const joined = new Promise((resolve, reject) => {
    ws.on("message", (data) => {
      const text = String(data);
      if (text.startsWith("0")) ws.send("40");
      else if (text === "2") client.pings++;
      else if (text.startsWith("40")) resolve(client);
    });
    ws.once("error", reject);
  });
  return withTimeout(joined, WAIT, "a silent WebSocket to join /");
}

test("long-polling sessions whose client vanished are closed after ping_interval + ping_timeout and freed", async () => {
  const baseline = await stats();
  const start = Date.now();
  const sids = await Promise.all(Array.from({ length: SESSIONS }, abandonedPolling));
  const joined = Date.now();
  const counted = await stats();
  assert.equal(counted.clients, baseline.clients + SESSIONS, JSON.stringify(counted));
  assert.equal(counted.sockets, baseline.sockets + SESSIONS, JSON.stringify(counted));

  // Only these sessions close here: the first close seen, then the last.
  const firstClose = await until((now) => now.clients < counted.clients, "the first abandoned session to close");
  const allClosed = await until((now) => now.clients === baseline.clients, "every abandoned session to close");
  process.stderr.write(
    `# ${SESSIONS} abandoned polling sessions (opened within ${joined - start} ms): first close seen ` +
      `${firstClose - start} ms after the first handshake, last ${allClosed - joined} ms after the last join\n`,
  );
  assert.ok(firstClose - start >= HEARTBEAT - EARLY_MS, `a session closed ${firstClose - start} ms after the first handshake`);
  assert.ok(allClosed - joined <= HEARTBEAT + LATE_MS, `the last session closed ${allClosed - joined} ms after the last join`);
  await freed(baseline, "after the abandoned polling sessions");

  // What a client coming back would find: its session is gone.
  for (const sid of sids) {
    const late = await poll(`&sid=${sid}`);
    assert.equal(late.status, 400, late.body);
    assert.equal(JSON.parse(late.body).code, 1, late.body);
  }
});

test("silent WebSockets are closed after ping_interval + ping_timeout and freed", async () => {
  const baseline = await stats();
  const clients = await Promise.all(Array.from({ length: SESSIONS }, silentWebSocket));
  const joined = Date.now();
  const counted = await stats();
  assert.equal(counted.clients, baseline.clients + SESSIONS, JSON.stringify(counted));
  assert.equal(counted.sockets, baseline.sockets + SESSIONS, JSON.stringify(counted));

  const closes = await withTimeout(
    Promise.all(clients.map((c) => c.closed)),
    HEARTBEAT + LATE_MS + WAIT,
    "the server to close the silent WebSockets",
  );
  const soonest = Math.min(...closes.map((t, i) => t - clients[i].start));
  const latest = Math.max(...closes) - joined;
  process.stderr.write(
    `# ${SESSIONS} silent WebSockets: closed ${soonest} ms after they connected at the soonest, ` +
      `the last ${latest} ms after the last join\n`,
  );
  assert.ok(soonest >= HEARTBEAT - EARLY_MS, `a silent WebSocket was closed ${soonest} ms after it connected`);
  assert.ok(latest <= HEARTBEAT + LATE_MS, `the last silent WebSocket was closed ${latest} ms after the last join`);
  for (const client of clients) assert.ok(client.pings >= 1, "closed without a ping first");
  await freed(baseline, "after the silent WebSockets");
});
