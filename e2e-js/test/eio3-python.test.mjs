// python-socketio 4.6 (python-engineio 3.14, engine.io v3) against sio-conformance with
// ALLOW_EIO3=1: test/python/eio3_client.py connects to / and /custom and makes its round trips
// (events, acks, binary, pings held over several intervals), over polling then upgrade,
// websocket only and polling only. Checked against Node's socket.io too (SIO_SERVER=node).
//
// The client lives in a virtualenv that scripts/test-all.sh makes (target/py-eio3; EIO3_PYTHON
// names another interpreter). Without it every test here is reported as skipped, with the
// reason, or fails under SIO_REQUIRE_BINARIES=1, as the test command runs it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { test as nodeTest } from "node:test";
import { E2E_ROOT, REPO_ROOT } from "./harness.mjs";
import { useSioServer } from "./sio-harness.mjs";

const python = process.env.EIO3_PYTHON ?? path.join(REPO_ROOT, "target", "py-eio3", "bin", "python");
const script = path.join(E2E_ROOT, "test", "python", "eio3_client.py");
const missing = existsSync(python)
  ? null
  : `python-socketio 4.x is not installed at ${python}: run scripts/test-all.sh, or make the ` +
    `virtualenv (see its python lines) and set EIO3_PYTHON`;
if (missing && process.env.SIO_REQUIRE_BINARIES !== "1") {
  process.stderr.write(`\n!!! SKIPPING every test of eio3-python.test.mjs (they do NOT count as passed):\n!!!   ${missing}\n\n`);
}
const ctx = useSioServer("sio-conformance", { env: { ALLOW_EIO3: "1" } });

/** Runs the client against the server; resolves with what it printed, or fails with it. */
function runClient(transports) {
  return new Promise((resolve, reject) => {
    execFile(python, [script, ctx.server.url, transports], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${stdout}${stderr}`.trim() || error.message));
      else resolve(JSON.parse(stdout.trim().split("\n").pop()));
    });
  });
}

for (const [transports, transport] of [
  ["polling,websocket", "websocket"],
  ["websocket", "websocket"],
  ["polling", "polling"],
]) {
  const name = `python-socketio 4.6 over ${transports}: auth, events, acks and binary, held over several pings`;
  if (missing && process.env.SIO_REQUIRE_BINARIES !== "1") {
    nodeTest(name, { skip: missing }, () => {});
    continue;
  }
  ctx.test(name, { timeout: 40_000 }, async () => {
    assert.ok(!missing, missing ?? "");
    const result = await runClient(transports);
    assert.deepEqual(result.auth, [{}]);
    assert.deepEqual(result["custom auth"], [{}]);
    assert.equal(result.transport, transport);
  });
}
