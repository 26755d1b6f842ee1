// A PostgreSQL of a test (Debian's `postgresql` package, its newest version under
// /usr/lib/postgresql), in a fresh data directory on a free port of 127.0.0.1, stopped and
// deleted by the test. As root it runs as the `postgres` user: initdb and postgres refuse
// root. scripts/test-all.sh installs the package.
import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { HOST, freePort, sleep, withTimeout } from "./harness.mjs";

const WAIT = 5000;

/** The newest bin directory of Debian's PostgreSQL packages, or null. */
export function postgresBin() {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, "bin", "postgres")))
    .sort((a, b) => Number(a) - Number(b));
  return versions.length ? path.join(root, versions.at(-1), "bin") : null;
}

/** { uid, gid } of the postgres user when running as root, otherwise {}. */
function runAs() {
  if (process.getuid?.() !== 0) return {};
  const id = (flag) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

/**
 * A PostgreSQL of this test on a free port, resolved once it accepts connections:
 * { url, port, stop(), kill(), start() } (kill: SIGKILL of the server and its backends, as a
 * crash; start: again, on the same port and data).
 */
export async function startPostgres() {
  const bin = postgresBin();
  if (!bin) throw new Error("no PostgreSQL under /usr/lib/postgresql (apt-get install -y postgresql)");
  const user = runAs();
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "sio-pg-"));
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, "data");
  execFileSync(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"], {
    ...user,
    cwd: "/",
    stdio: "ignore",
  });
  let child = null;
  let log = "";
  const start = async () => {
    log = "";
    child = spawn(
      path.join(bin, "postgres"),
      ["-D", data, "-p", String(port), "-h", HOST, "-k", dir,
        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
      { ...user, cwd: "/", stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    const exited = new Promise((_, reject) =>
      child.once("exit", (code) => reject(new Error(`postgres exited (${code}): ${log}`))),
    );
    exited.catch(() => {});
    const ready = (async () => {
      for (;;) {
        try {
          execFileSync(path.join(bin, "pg_isready"), ["-h", HOST, "-p", String(port), "-q"]);
          return;
        } catch {
          await sleep(50);
        }
      }
    })();
    await withTimeout(Promise.race([ready, exited]), 30_000, "postgres to start");
  };
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    // The backends are the postmaster's children: a crash takes them too.
    try {
      execFileSync("pkill", ["-KILL", "-P", String(child.pid)]);
    } catch {
      /* none */
    }
    child.kill("SIGKILL");
    await withTimeout(exited, WAIT, "postgres to die");
  };
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT"); // fast shutdown
      await withTimeout(exited, WAIT, "postgres to exit").catch(() => kill());
    }
    rmSync(dir, { recursive: true, force: true });
  };
  await start();
  return { url: `postgres://postgres@${HOST}:${port}/postgres`, port, start, kill, stop };
}
