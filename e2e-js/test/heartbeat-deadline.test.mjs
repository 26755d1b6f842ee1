// The heartbeat's deadline is exact: a session whose client never answers a ping is over
// pingInterval + pingTimeout (500 ms here) after its handshake, counted from the handshake and
// not from whenever the server's timers get to run. A client that waits exactly that long finds
// the session gone, every time, however busy the machine (Node's engine.io does the same).
import assert from "node:assert/strict";
import http from "node:http";
import { performance } from "node:perf_hooks";
import { after, afterEach, before, describe, test } from "node:test";
import WebSocket from "ws";
import {
  EIO_PATH,
  HOST,
  PING_INTERVAL,
  PING_TIMEOUT,
  abortAllRequests,
  assertServerAlive,
  sleep,
  startServer,
  withTimeout,
} from "./harness.mjs";

const DEADLINE = PING_INTERVAL + PING_TIMEOUT;

/**
 * GETs `query` on one kept-alive connection, so that the poll after the wait leaves at once
 * rather than after a new TCP handshake; resolves with { status, body, at } where `at` is when
 * the answer's headers arrived.
 */
function get(agent, query) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = http.get({ host: HOST, port: server.port, path: `${EIO_PATH}?${query}`, agent }, (res) => {
        const at = performance.now();
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), at }));
      });
      req.on("error", reject);
    }),
    3000,
    `GET ?${query}`,
  );
}

/** Waits until exactly `ms` after `from` (a performance.now() reading): no timer lateness. */
async function waitUntil(from, ms) {
  const target = from + ms;
  if (target - performance.now() > 5) await sleep(target - performance.now() - 5);
  while (performance.now() < target);
}
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

describe("the heartbeat's deadline counts from the handshake", () => {
  test("a polling session that never answers is unknown exactly pingInterval + pingTimeout after its handshake", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const handshake = await get(agent, "EIO=4&transport=polling");
      assert.equal(handshake.status, 200);
      const { sid } = JSON.parse(handshake.body.slice(1));
      await waitUntil(handshake.at, DEADLINE);
      const res = await get(agent, `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`);
      assert.equal(res.status, 400, `a GET ${DEADLINE} ms after the handshake answered ${res.status} ${res.body.slice(0, 40)}`);
      assert.deepEqual(JSON.parse(res.body), { code: 1, message: "Session ID unknown" });
      const ev = await server.waitFor((e) => e.event === "close" && e.sid === sid, 2000, `server close line for ${sid}`);
      assert.equal(ev.reason, "ping timeout");
    } finally {
      agent.destroy();
    }
  });
  test("a pong sent exactly pingInterval + pingTimeout after a WebSocket's handshake comes too late", async () => {
    const ws = new WebSocket(`ws://${HOST}:${server.port}${EIO_PATH}?EIO=4&transport=websocket`);
    sockets.add(ws);
    ws.on("error", () => {});
    const closed = new Promise((resolve) => ws.on("close", resolve));
    const open = await withTimeout(
      new Promise((resolve) => ws.once("message", (data) => resolve(data.toString()))),
      3000,
      "the open packet",
    );
    const openedAt = performance.now();
    assert.ok(open.startsWith("0{"), `first frame: ${open}`);
    const { sid } = JSON.parse(open.slice(1));
    // The ping comes and goes unanswered; the answer leaves at the deadline, too late.
    await waitUntil(openedAt, DEADLINE);
    ws.send("3");
    const ev = await server.waitFor((e) => e.event === "close" && e.sid === sid, 2000, `server close line for ${sid}`);
    assert.equal(ev.reason, "ping timeout");
    await withTimeout(closed, 3000, "the WebSocket to close");
  });
});
