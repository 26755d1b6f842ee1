// A reconnect storm: 5,000 socket.io clients connected to the bench-server (default heartbeat:
// the conformance servers' 300 ms one would have this one process answer 16,000 pings a
// second), the server stopped and started again on the same port, and every client reconnects
// by itself and completes an acked round trip within a bounded time.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { io } from "socket.io-client";
import { HOST, REPO_ROOT, freePort, sleep, withTimeout } from "./harness.mjs";

const CLIENTS = Number(process.env.STORM_CLIENTS ?? 5000);
/** The bound on the whole storm, from the restart to the last round trip. */
const STORM_MS = 30_000;
const BIN = process.env.BENCH_SERVER_BIN ?? path.join(REPO_ROOT, "target", "debug", "bench-server");

const clients = [];
let server;

/** Starts the bench-server on `port`; resolves once it listens. */
function startServer(port) {
  const child = spawn(BIN, [], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "inherit"] });
  return withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on("data", (d) => String(d).includes('"listening"') && resolve(child));
      child.once("exit", (code) => reject(new Error(`bench-server exited (${code})`)));
    }),
    10_000,
    "the bench-server to listen",
  );
}

function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  return withTimeout(exited, 5000, "the bench-server to exit");
}

after(async () => {
  for (const socket of clients) socket.close();
  await stop(server);
});

/** Resolves once every client is connected, checking every 50 ms. */
async function allConnected(what) {
  const deadline = Date.now() + STORM_MS;
  while (clients.some((socket) => !socket.connected)) {
    const waiting = clients.filter((socket) => !socket.connected).length;
    assert.ok(Date.now() < deadline, `${what}: ${waiting} of ${CLIENTS} clients still not connected`);
    await sleep(50);
  }
}

async function roundTrips() {
  const answers = await Promise.all(
    clients.map((socket, i) => socket.timeout(STORM_MS).emitWithAck("echo", i)),
  );
  answers.forEach((n, i) => assert.equal(n, i));
}

test("5,000 clients reconnect after a server restart and each completes a round trip", { timeout: 120_000 }, async () => {
  assert.ok(existsSync(BIN), `no bench-server at ${BIN}: cargo build -p bench-server`);
  const port = await freePort();
  server = await startServer(port);
  for (let i = 0; i < CLIENTS; i++) {
    clients.push(
      io(`http://${HOST}:${port}`, {
        transports: ["websocket"],
        forceNew: true,
        // socket.io-client's defaults: 1 s first delay, up to 5 s, randomized by half.
        reconnectionDelay: 1000,
        reconnectionDelayMax: 5000,
      }),
    );
  }
  await allConnected("first connection");
  await roundTrips();

  await stop(server);
  await withTimeout(
    (async () => {
      while (clients.some((socket) => socket.connected)) await sleep(20);
    })(),
    10_000,
    "every client to notice the server went away",
  );
  const restarted = Date.now();
  server = await startServer(port);
  await allConnected("after the restart");
  await roundTrips();
  const storm = Date.now() - restarted;
  process.stderr.write(`# reconnect storm: ${CLIENTS} clients reconnected and answered in ${storm} ms\n`);
  assert.ok(storm < STORM_MS, `${storm} ms`);
});
