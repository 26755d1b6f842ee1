// 10,000 socket.io connect/disconnect cycles against sio-conformance leave the server's
// resident memory where it was (within a margin far below what one leaked socket per cycle
// would add), and the server still answers.
//
// Rust only: Node's memory follows its garbage collector, not its live sockets.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { HOST, sioServerKind, withTimeout } from "./harness.mjs";
import { useSioServer } from "./sio-harness.mjs";

const ctx = useSioServer("sio-conformance");
const test = (name, fn) =>
  ctx.test(name, { skip: sioServerKind === "node" && "Node's RSS follows its GC", timeout: 120_000 }, fn);

const CYCLES = 10_000;
const AT_ONCE = 50;
/** Growth allowed over 10,000 cycles: 2 MiB, where one leaked socket per cycle (several KiB)
 * would add tens of MiB. */
const MARGIN_KB = 2048;

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

test("10,000 connect/disconnect cycles leave the server's memory where it was", async () => {
  const { port, child } = ctx.server;
  // Warm up: allocator pools, runtime structures and the like reach their working size.
  await cycles(port, 1000);
  const before = rssKb(child.pid);
  await cycles(port, CYCLES);
  const after = rssKb(child.pid);
  process.stderr.write(`# server RSS: ${before} KiB before, ${after} KiB after ${CYCLES} cycles\n`);
  assert.ok(after - before < MARGIN_KB, `RSS grew by ${after - before} KiB over ${CYCLES} cycles`);
  // Still serving.
  await cycle(port);
});
