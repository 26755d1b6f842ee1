// A redis-server of a test, on a free port of 127.0.0.1 (or the given one: to restart it where
// it was), started with no persistence and stopped by the test. Needs redis-server on PATH
// (scripts/test-all.sh installs it).
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
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


/**
 * A Redis 7 Cluster of this test: `masters` masters (three at least, as Redis asks), each a
 * redis-server --cluster-enabled yes on a free port of HOST (its cluster bus port, ten thousand
 * above, free too), joined with `redis-cli --cluster create`, resolved once every node says
 * cluster_state:ok. `urls` are its nodes' redis://host:port URLs; `stop()` ends every node and
 * deletes their directory.
 */
export async function startRedisCluster(masters = 3) {
  const dir = mkdtempSync(path.join(tmpdir(), "sio-redis-cluster-"));
  const nodes = [];
  const stopAll = async () => {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await clusterPort(nodes.map((n) => n.port));
      nodes.push(await startNode(port, dir));
    }
    const addresses = nodes.map((node) => `${HOST}:${node.port}`);
    await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"], 30_000);
    const deadline = Date.now() + 30_000;
    for (const node of nodes) {
      while (!(await run("redis-cli", ["-h", HOST, "-p", String(node.port), "cluster", "info"], WAIT)).includes("cluster_state:ok")) {
        if (Date.now() > deadline) throw new Error(`the redis cluster never settled on ${node.port}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { urls: nodes.map((node) => `redis://${HOST}:${node.port}`), stop: stopAll };
}

/** A free port whose cluster bus port (ten thousand above) is free too, and not in `taken`. */
async function clusterPort(taken) {
  for (;;) {
    const port = await freePort();
    if (port < 55_000 && !taken.includes(port) && (await isFree(port + 10_000))) return port;
  }
}

function isFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

async function startNode(port, dir) {
  const child = spawn(
    "redis-server",
    [
      "--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no",
      "--cluster-enabled", "yes", "--cluster-node-timeout", "1000",
      "--cluster-config-file", `nodes-${port}.conf`, "--dir", dir,
    ],
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
  await withTimeout(ready, 10_000, "a redis cluster node to start");
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await withTimeout(exited, WAIT, "a redis cluster node to exit");
  };
  return { port, stop };
}

/** Runs a command to its end within `ms`; resolves with its stdout, rejects when it fails. */
function run(cmd, args, ms) {
  return withTimeout(
    new Promise((resolve, reject) => {
      execFile(cmd, args, { timeout: ms }, (error, stdout, stderr) =>
        error ? reject(new Error(`${cmd} ${args.join(" ")}: ${error.message} ${stderr}`)) : resolve(stdout),
      );
    }),
    ms + 1000,
    `${cmd} ${args.join(" ")}`,
  );
}
