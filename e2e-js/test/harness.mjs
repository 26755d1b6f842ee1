// Test harness: starts the server under test, collects its JSON event lines,
// and offers bounded helpers to drive engine.io-client sockets and raw HTTP.
// (socket.io-client helpers live in sio-harness.mjs.)
//
// Which server, by kind:
//   "eio" (default): EIO_SERVER=node -> node reference/eio-server.mjs (Node's engine.io)
//                    otherwise       -> $EIO_CONFORMANCE_BIN, or <repo>/target/debug/eio-conformance
//   "sio-conformance", "sio-features":
//                    SIO_SERVER=node -> node reference/<kind>.mjs (Node's socket.io)
//                    otherwise       -> $SIO_CONFORMANCE_BIN / $SIO_FEATURES_BIN,
//                                       or <repo>/target/debug/<kind>
import { after, afterEach, before } from "node:test";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Socket } from "engine.io-client";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const E2E_ROOT = path.resolve(HERE, "..");
export const REPO_ROOT = path.resolve(E2E_ROOT, "..");
export const HOST = "127.0.0.1";
export const EIO_PATH = "/engine.io/";

/** The contract's numbers (see reference/eio-server.mjs). */
export const PING_INTERVAL = 300;
export const PING_TIMEOUT = 200;
export const MAX_PAYLOAD = 1e6;

const STARTUP_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3_000;

/** Which implementation the engine.io tests run against. */
export const serverKind = process.env.EIO_SERVER === "node" ? "node" : "rust";
/** Which implementation the socket.io tests run against. */
export const sioServerKind = process.env.SIO_SERVER === "node" ? "node" : "rust";

/** The socket.io server kinds: binary name, env override, reference script. */
export const SIO_KINDS = {
  "sio-conformance": { env: "SIO_CONFORMANCE_BIN", script: "sio-conformance.mjs" },
  "sio-features": { env: "SIO_FEATURES_BIN", script: "sio-features.mjs" },
};

/**
 * Where the Rust binary of a socket.io kind is expected:
 * { bin, fromEnv (the override variable's name, if it was set) }.
 */
export function sioBinary(kind) {
  const spec = SIO_KINDS[kind];
  if (!spec) throw new Error(`unknown socket.io server kind ${JSON.stringify(kind)}`);
  const override = process.env[spec.env];
  return override
    ? { bin: path.resolve(override), fromEnv: spec.env }
    : { bin: path.join(REPO_ROOT, "target", "debug", kind), fromEnv: null };
}

/**
 * Why the tests of a socket.io kind cannot run, or null if they can: only
 * when running against Rust and the default binary path does not exist. An
 * explicit $SIO_*_BIN that does not exist is not a reason to skip (the tests
 * then fail at startup), nor is anything with SIO_REQUIRE_BINARIES=1.
 */
export function sioSkipReason(kind) {
  if (sioServerKind === "node") return null;
  const { bin, fromEnv } = sioBinary(kind);
  if (existsSync(bin) || fromEnv || process.env.SIO_REQUIRE_BINARIES === "1") return null;
  return (
    `Rust socket.io server binary \`${kind}\` is missing at ${bin}: ` +
    `build it (cargo build -p ${kind}), set ${SIO_KINDS[kind].env}, ` +
    "or run against Node's socket.io with SIO_SERVER=node"
  );
}

/** Resolves the command line of the server under test for `kind` ("eio" or a socket.io kind). */
export function serverCommand(kind = "eio", { node = false } = {}) {
  if (kind !== "eio") {
    const spec = SIO_KINDS[kind];
    if (!spec) throw new Error(`unknown server kind ${JSON.stringify(kind)}`);
    if (sioServerKind === "node" || node) {
      return { cmd: process.execPath, args: [path.join(E2E_ROOT, "reference", spec.script)] };
    }
    const { bin, fromEnv } = sioBinary(kind);
    if (!existsSync(bin)) {
      throw new Error(
        `socket.io server binary \`${kind}\` not found at ${bin}` +
          (fromEnv ? ` (from ${fromEnv})` : "") +
          `: build it with \`cargo build -p ${kind}\`, set ${spec.env}, ` +
          "or run against the Node reference with SIO_SERVER=node",
      );
    }
    return { cmd: bin, args: [] };
  }
  if (serverKind === "node") {
    return { cmd: process.execPath, args: [path.join(E2E_ROOT, "reference", "eio-server.mjs")] };
  }
  const bin = process.env.EIO_CONFORMANCE_BIN
    ? path.resolve(process.env.EIO_CONFORMANCE_BIN)
    : path.join(REPO_ROOT, "target", "debug", "eio-conformance");
  if (!existsSync(bin)) {
    throw new Error(
      `conformance server binary not found at ${bin}: build it with ` +
        "`cargo build -p eio-conformance`, set EIO_CONFORMANCE_BIN, or run against " +
        "the Node reference with EIO_SERVER=node",
    );
  }
  return { cmd: bin, args: [] };
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Rejects with a clear message after `ms`, unless `promise` settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns the server under test on a free port and waits for its
 * {"event":"listening"} line.
 *
 * @param {{kind?: "eio" | "sio-conformance" | "sio-features", events?: boolean, env?: object}} [options]
 *   kind: which server (default "eio", the engine.io conformance server);
 *   events: ask for event lines (EIO_EVENTS=1 for "eio", SIO_EVENTS=1 otherwise);
 *   env: more environment variables for the server (e.g. the limits sio-conformance takes)
 */
export async function startServer({ kind = "eio", events = false, env: extraEnv = {}, node = false } = {}) {
  // `node`: the Node reference of `kind`, whichever server the run is against.
  const { cmd, args } = serverCommand(kind, { node });
  const impl = kind === "eio" ? serverKind : sioServerKind;
  const port = await freePort();
  const env = { ...process.env, ...extraEnv, PORT: String(port) };
  delete env.EIO_EVENTS;
  delete env.SIO_EVENTS;
  if (events) env[kind === "eio" ? "EIO_EVENTS" : "SIO_EVENTS"] = "1";
  const verbose = Boolean(process.env.EIO_VERBOSE || process.env.SIO_VERBOSE);
  // Own process group, so that stop() also ends anything the server spawned
  // (e.g. a wrapper script's child still holding the stdout pipe).
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      try {
        child.kill(signal);
      } catch {
        /* already gone */
      }
    }
  };
  const killOnExit = () => killGroup("SIGKILL");
  process.once("exit", killOnExit);
  const release = () => {
    process.removeListener("exit", killOnExit);
    child.stdout.destroy();
    child.stderr.destroy();
  };

  const received = []; // every JSON event line, in order
  const waiters = new Set(); // { pred, resolve }
  let stderrTail = "";
  let exited = null; // { code, signal }
  let spawnError = null;

  const describe = () =>
    `${impl} ${kind} server (${cmd}) on port ${port}` +
    (exited ? `, exited with code ${exited.code} signal ${exited.signal}` : "") +
    (stderrTail ? `\n--- server stderr (tail) ---\n${stderrTail.slice(-4000)}` : "");

  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderrTail = (stderrTail + chunk).slice(-16_000);
    if (verbose) process.stderr.write(chunk);
  });

  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    if (verbose) process.stderr.write(`[${kind} stdout] ${line}\n`);
    let ev;
    try {
      ev = JSON.parse(line);
    } catch {
      return; // non-JSON stdout lines are allowed and ignored
    }
    if (ev === null || typeof ev !== "object" || typeof ev.event !== "string") return;
    received.push(ev);
    for (const w of [...waiters]) {
      if (w.pred(ev)) {
        waiters.delete(w);
        w.resolve(ev);
      }
    }
  });

  const exitPromise = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.once("error", (err) => {
      spawnError = err;
      exited = { code: null, signal: null };
      resolve(exited);
    });
  });

  const linesClosed = new Promise((resolve) => lines.once("close", resolve));
  const drainedAfterExit = exitPromise.then(() =>
    withTimeout(linesClosed, 300, "stdout close after exit").catch(() => {}),
  );

  /**
   * Resolves with the first event line (already received or future) matching
   * `pred`; rejects after timeoutMs or if the server exits. With fromIndex,
   * events received before that position (see eventCount()) are skipped.
   */
  function waitFor(pred, timeoutMs, what = "a matching server event", fromIndex = 0) {
    const seen = received.slice(fromIndex).find(pred);
    if (seen) return Promise.resolve(seen);
    let waiter;
    const p = new Promise((resolve, reject) => {
      waiter = { pred, resolve };
      waiters.add(waiter);
      // after the exit, give the stdout pipe a moment to deliver the last lines
      drainedAfterExit.then(() =>
        reject(new Error(`server exited while waiting for ${what}: ${describe()}`)),
      );
    });
    return withTimeout(p, timeoutMs, `${what} (events so far: ${summary()})`).finally(() =>
      waiters.delete(waiter),
    );
  }

  function summary() {
    const last = received.slice(-8).map((e) => JSON.stringify(e));
    return `${received.length} total; last: ${last.join(" ")}`;
  }

  /** Events seen so far that match `pred` (or all). */
  function events_(pred = () => true) {
    return received.filter(pred);
  }

  try {
    const listening = await withTimeout(
      Promise.race([
        waitFor((ev) => ev.event === "listening", STARTUP_TIMEOUT_MS + 1000, "the listening line"),
        exitPromise.then(() => {
          throw new Error(
            `server exited before printing {"event":"listening"}` +
              (spawnError ? ` (spawn error: ${spawnError.message})` : "") +
              `: ${describe()}`,
          );
        }),
      ]),
      STARTUP_TIMEOUT_MS,
      `server startup, no {"event":"listening"} line: ${describe()}`,
    );
    if (listening.port !== port) {
      throw new Error(`listening line reports port ${listening.port}, expected ${port}`);
    }
  } catch (err) {
    killGroup("SIGKILL");
    lines.close();
    release();
    throw err;
  }

  async function stop() {
    if (!exited) {
      killGroup("SIGTERM");
      let timer;
      const killed = new Promise((resolve) => {
        timer = setTimeout(() => {
          killGroup("SIGKILL");
          resolve();
        }, STOP_TIMEOUT_MS);
      });
      await Promise.race([exitPromise, killed]);
      clearTimeout(timer);
      await withTimeout(exitPromise, STOP_TIMEOUT_MS, "server exit after SIGKILL").catch(() => {});
    }
    killGroup("SIGKILL"); // leftovers of the group, if any
    lines.close();
    release();
    return exited;
  }

  return {
    kind,
    eventsEnabled: events,
    port,
    url: `http://${HOST}:${port}`,
    child,
    waitFor,
    events: events_,
    eventCount: () => received.length,
    stop,
    /** Sends `signal` to the server's process group (stop() still cleans up afterwards). */
    signal: (signal) => killGroup(signal),
    /** Resolves with { code, signal } once the server exited and its last stdout lines were read. */
    waitExit: (timeoutMs, what = "server exit") => withTimeout(drainedAfterExit.then(() => exited), timeoutMs, what),
    describe,
    get alive() {
      return !exited;
    },
  };
}

/** Throws (with the server's stderr tail) if the server under test has exited. */
export function assertServerAlive(server) {
  if (server && !server.alive) throw new Error(`the server under test is no longer running: ${server.describe()}`);
}

/**
 * Starts one server before a test file's tests and stops it after them; after each test, closes
 * the pool's clients and checks that the server survived. `onStart` receives the server.
 */
export function useServer(options, pool, onStart) {
  let server;
  before(async () => {
    server = await startServer(options);
    onStart(server);
  });
  afterEach(async () => {
    await pool.closeAll();
    assertServerAlive(server);
  });
  after(async () => {
    await pool.closeAll();
    await server?.stop();
  });
}

// ---------------------------------------------------------------------------
// engine.io-client helpers
// ---------------------------------------------------------------------------

/** The three transport setups every scenario runs over. */
export const SETUPS = [
  { name: "websocket only", opts: { transports: ["websocket"] }, transport: "websocket", upgrade: false },
  { name: "polling only", opts: { transports: ["polling"] }, transport: "polling", upgrade: false },
  { name: "polling with upgrade", opts: {}, transport: "websocket", upgrade: true },
];

/**
 * Tracks client sockets so a test can close them all in afterEach.
 */
export class ClientPool {
  constructor() {
    this.sockets = new Set();
  }

  track(socket) {
    this.sockets.add(socket);
    return socket;
  }

  async closeAll() {
    const pending = [];
    for (const s of this.sockets) {
      if (s.readyState !== "closed") {
        pending.push(
          withTimeout(new Promise((r) => s.once("close", r)), 2000, "client close").catch(() => {}),
        );
        try {
          s.close();
        } catch {
          /* ignore */
        }
      }
    }
    this.sockets.clear();
    await Promise.all(pending);
  }
}

/**
 * Opens an engine.io-client Socket to `server` with the given setup and waits
 * until it is open; for the upgrade setup also until the upgrade to websocket
 * completed on both sides (client `upgrade` event, transport name, server
 * `upgrade` line). Requires a server started with events for the upgrade setup.
 * onCreate(socket) runs synchronously right after construction, before any
 * packet can arrive (e.g. to patch the socket).
 */
export async function connect(server, setup, pool, { clientOpts = {}, onCreate, timeoutMs = 5000 } = {}) {
  const socket = new Socket(server.url, { path: EIO_PATH, ...setup.opts, ...clientOpts });
  pool?.track(socket);
  onCreate?.(socket);
  const upgraded = setup.upgrade
    ? new Promise((resolve, reject) => {
        socket.once("upgrade", (t) => resolve(t));
        socket.once("upgradeError", (e) => reject(new Error(`client upgradeError: ${e?.message}`)));
      })
    : null;
  upgraded?.catch(() => {}); // awaited below; avoid an unhandled rejection if open fails
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", (e) => reject(new Error(`client error before open: ${e?.message ?? e}`)));
      socket.once("close", (reason) => reject(new Error(`client closed before open: ${reason}`)));
    }),
    timeoutMs,
    `client open (${setup.name}) to ${server.url}`,
  );
  const sid = socket.id;
  if (setup.upgrade) {
    const t = await withTimeout(upgraded, timeoutMs, "client upgrade event");
    if (t.name !== "websocket" || socket.transport.name !== "websocket") {
      throw new Error(`upgraded to ${t.name}, transport now ${socket.transport.name}`);
    }
    await server.waitFor(
      (ev) => ev.event === "upgrade" && ev.sid === sid && ev.transport === "websocket",
      timeoutMs,
      `server upgrade line for ${sid}`,
    );
  }
  return socket;
}

/**
 * Collects the next `n` messages of `socket` (in arrival order). Rejects on
 * timeout or if the socket closes first.
 */
export function collectMessages(socket, n, timeoutMs, what = `${n} messages`) {
  const got = [];
  let onMessage;
  let onClose;
  const p = new Promise((resolve, reject) => {
    onMessage = (data) => {
      got.push(data);
      if (got.length >= n) resolve(got);
    };
    onClose = (reason) => reject(new Error(`socket closed (${reason}) after ${got.length}/${n} messages`));
    socket.on("message", onMessage);
    socket.on("close", onClose);
  });
  return withTimeout(p, timeoutMs, `${what} (got ${got.length} so far)`).finally(() => {
    socket.off("message", onMessage);
    socket.off("close", onClose);
  });
}

/** Resolves with the close reason of `socket`. */
export function waitClose(socket, timeoutMs, what = "client close") {
  if (socket.readyState === "closed") return Promise.resolve("already closed");
  return withTimeout(new Promise((resolve) => socket.once("close", (reason) => resolve(reason))), timeoutMs, what);
}

/** Any binary payload received by the client, as a Buffer (for comparisons). */
export function asBuffer(data) {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new Error(`expected binary data, got ${typeof data}: ${String(data).slice(0, 60)}`);
}

// ---------------------------------------------------------------------------
// Raw HTTP (no connection pooling: nothing is left open after a test)
// ---------------------------------------------------------------------------

/**
 * One HTTP request with its own connection, to `path` (the engine.io path unless given).
 * Resolves with { status, headers, body (string) }.
 */
export function httpRequest(server, { method = "GET", path: base = EIO_PATH, query = "", headers = {}, body, timeoutMs = 5000 } = {}) {
  return withTimeout(
    new Promise((resolve, reject) => {
      let response = null;
      const chunks = [];
      const done = () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: response.statusCode, headers: response.headers, body: bytes.toString("utf8"), bytes });
      };
      const req = http.request(
        {
          host: HOST,
          port: server.port,
          method,
          path: base + (query ? `?${query}` : ""),
          headers: { connection: "close", ...headers },
          agent: false,
        },
        (res) => {
          response = res;
          res.on("data", (c) => chunks.push(c));
          res.on("end", done);
          res.on("error", done);
        },
      );
      // The server may answer (e.g. 413) and close before the whole body is
      // written; a write error after the response arrived is not a failure.
      req.on("error", (err) => (response ? done() : reject(err)));
      if (body !== undefined) req.end(body);
      else req.end();
      reqs.add(req);
      req.on("close", () => reqs.delete(req));
    }),
    timeoutMs,
    `${method} ${base}?${query.slice(0, 80)}`,
  );
}
const reqs = new Set();

/** Aborts any raw HTTP request still in flight. */
export function abortAllRequests() {
  for (const r of reqs) r.destroy();
  reqs.clear();
}

/** Polling handshake; returns { sid, handshake, body, res }. */
export async function pollingHandshake(server) {
  const res = await httpRequest(server, { query: "EIO=4&transport=polling" });
  if (res.status !== 200 || !res.body.startsWith("0")) {
    throw new Error(`handshake failed: ${res.status} ${res.body.slice(0, 200)}`);
  }
  const handshake = JSON.parse(res.body.slice(1));
  return { sid: handshake.sid, handshake, body: res.body, res };
}

/**
 * Long-polls session `sid` until a received packet satisfies `pred`,
 * answering server pings ("2") with pongs ("3") on the way. Resolves with
 * every packet string received up to and including the match.
 */
export async function pollUntil(server, sid, pred, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  const seen = [];
  while (Date.now() < deadline) {
    const res = await httpRequest(server, {
      query: `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`,
      timeoutMs: Math.max(100, deadline - Date.now()),
    });
    if (res.status !== 200) {
      throw new Error(`poll GET answered ${res.status} ${res.body.slice(0, 200)}; packets so far ${JSON.stringify(seen)}`);
    }
    const packets = res.body.split("\x1e");
    for (const p of packets) {
      seen.push(p);
      if (pred(p)) return seen;
    }
    if (packets.includes("2")) {
      const pong = await httpRequest(server, {
        method: "POST",
        query: `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`,
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body: "3",
      });
      if (pong.status !== 200) throw new Error(`pong POST answered ${pong.status} ${pong.body}`);
    }
  }
  throw new Error(`timed out after ${timeoutMs} ms polling ${sid}; packets ${JSON.stringify(seen)}`);
}

/** POSTs a polling payload to session `sid`. */
export function pollPost(server, sid, body, extra = {}) {
  return httpRequest(server, {
    method: "POST",
    query: `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`,
    headers: { "content-type": "text/plain;charset=UTF-8" },
    body,
    ...extra,
  });
}
