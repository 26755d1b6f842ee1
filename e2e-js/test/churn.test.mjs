// 10,000 socket.io connect/disconnect cycles against sio-conformance leave the server's
// resident memory and its number of tokio tasks where they were (within margins far below what
// one leaked socket or task per cycle would add), and the server still answers.
//
// Rust only: Node's memory follows its garbage collector, not its live sockets, and Node has no
// tasks to count.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after } from "node:test";
import WebSocket from "ws";
import { io } from "socket.io-client";
import { HOST, sioServerKind, sleep, withTimeout } from "./harness.mjs";
import { useSioServer } from "./sio-harness.mjs";

const ctx = useSioServer("sio-conformance");
const test = (name, fn) =>
  ctx.test(name, { skip: sioServerKind === "node" && "Node's RSS follows its GC", timeout: 120_000 }, fn);

const CYCLES = 10_000;
const AT_ONCE = 50;
/** Growth allowed over 10,000 cycles: 2 MiB, where one leaked socket per cycle (several KiB)
 * would add tens of MiB. */
const MARGIN_KB = 2048;
/** Tasks allowed over the count before the cycles if they do not settle back to it: a few still
 * finishing, where one leaked task per cycle would be 10,000 and one per thousand cycles 10. */
const TASK_MARGIN = 3;
/** How long the tasks of the last cycles may take to end. */
const SETTLE_MS = 10_000;

let observer;

/** The server's counts (`stats`), asked by a client that lives for the file. */
async function stats() {
  if (!observer) {
    observer = io(ctx.server.url, { transports: ["websocket"], forceNew: true, reconnection: false });
    await withTimeout(new Promise((resolve) => observer.once("connect", resolve)), 5000, "the observer to connect");
  }
  return observer.timeout(5000).emitWithAck("stats");
}

after(() => observer?.close());

function rssKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

/** One socket.io connection to "/" over WebSocket, closed as soon as it is connected. */
function cycle(port) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${HOST}:${port}/socket.io/?EIO=4&transport=websocket`);
      ws.on("message", (m) => {
        const text = String(m);
        if (text.startsWith("0")) ws.send("40");
        else if (text.startsWith("40")) ws.close();
      });
      ws.on("close", resolve);
      ws.on("error", reject);
    }),
    10_000,
    "a connect/disconnect cycle",
  );
}

async function cycles(port, n) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await cycle(port);
    }
  };
  await Promise.all(Array.from({ length: AT_ONCE }, worker));
}

test("10,000 connect/disconnect cycles leave the server's memory and tasks where they were", async () => {
  const { port, child } = ctx.server;
  // Warm up: allocator pools, runtime structures and the like reach their working size.
  await cycles(port, 1000);
  const counts = await stats();
  const before = rssKb(child.pid);
  await cycles(port, CYCLES);
  const after_ = rssKb(child.pid);
  // The last cycles' connections may still be closing on the server: look every 20 ms until
  // the counts are back where they were, or for SETTLE_MS.
  const cycled = Date.now();
  const deadline = cycled + SETTLE_MS;
  const back = (now) => now.tasks <= counts.tasks && now.clients === counts.clients && now.sockets === counts.sockets;
  let settled = await stats();
  while (!back(settled) && Date.now() < deadline) {
    await sleep(20);
    settled = await stats();
  }
  process.stderr.write(
    `# server RSS: ${before} KiB before, ${after_} KiB after ${CYCLES} cycles; ` +
      `tasks: ${counts.tasks} before, ${settled.tasks} after (${Date.now() - cycled} ms after the last cycle); counts ${JSON.stringify(counts)} -> ${JSON.stringify(settled)}\n`,
  );
  assert.ok(after_ - before < MARGIN_KB, `RSS grew by ${after_ - before} KiB over ${CYCLES} cycles`);
  assert.ok(
    settled.tasks <= counts.tasks + TASK_MARGIN,
    `${settled.tasks} tasks alive after ${CYCLES} cycles, ${counts.tasks} before`,
  );
  assert.equal(settled.clients, counts.clients, "engine.io connections left open");
  assert.equal(settled.sockets, counts.sockets, "sockets left in /");
  // Still serving.
  await cycle(port);
});
