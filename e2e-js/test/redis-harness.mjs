// A redis-server of a test, on a free port of 127.0.0.1 (or the given one: to restart it where
// it was), started with no persistence and stopped by the test. Needs redis-server on PATH
// (scripts/test-all.sh installs it).
import { spawn } from "node:child_process";
import { HOST, freePort, withTimeout } from "./harness.mjs";

const WAIT = 5000;

/** A redis-server of this test on a free port, resolved once it accepts connections. */
export async function startRedis(port) {
  port ??= await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  const ready = new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      log += d;
      if (/Ready to accept connections/.test(log)) resolve();
    });
    child.stderr.on("data", (d) => (log += d));
    child.once("error", (error) => reject(new Error(`redis-server: ${error.message}`)));
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${log}`)));
  });
  await withTimeout(ready, 10_000, "redis-server to start");
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await withTimeout(exited, WAIT, "redis-server to exit").catch(() => child.kill("SIGKILL"));
  };
  return { url: `redis://${HOST}:${port}`, port, stop };
}

