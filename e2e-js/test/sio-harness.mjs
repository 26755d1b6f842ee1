// socket.io test helpers: one socket.io server per test file (useSioServer),
// socket.io-client sockets over the three transport setups (connectSio),
// a per-socket event recorder, and bounded waits for everything.
//
// Which server: see harness.mjs (SIO_SERVER=node runs reference/<kind>.mjs,
// otherwise the Rust binary <repo>/target/debug/<kind>). When the Rust binary
// is missing (and was not named explicitly), every test of the file is
// reported as skipped, with the reason, and a banner goes to stderr: those
// tests never count as passed.
import assert from "node:assert/strict";
import { after, afterEach, before, test as nodeTest } from "node:test";
import { Socket as EngineSocket } from "engine.io-client";
import { Manager, io } from "socket.io-client";
import {
  assertServerAlive,
  sioSkipReason,
  sleep,
  startServer,
  withTimeout,
} from "./harness.mjs";

export const SIO_PATH = "/socket.io/";
/** The contracts' numbers (see reference/sio-*.mjs). */
export const SIO_PING_INTERVAL = 300;
export const SIO_PING_TIMEOUT = 200;
export const CONNECT_TIMEOUT = 1000;
/** How long a test waits to conclude that something was not delivered. */
export const ABSENCE_MS = 300;

/** The three transport setups (socket.io-client options). */
export const SIO_SETUPS = [
  { name: "websocket only", opts: { transports: ["websocket"] }, transport: "websocket", upgrade: false },
  { name: "polling only", opts: { transports: ["polling"] }, transport: "polling", upgrade: false },
  {
    name: "polling with upgrade",
    opts: { transports: ["polling", "websocket"], upgrade: true },
    transport: "websocket",
    upgrade: true,
  },
];

/**
 * Sets up a test file for a socket.io server kind (`env`: more environment variables for the
 * server). Returns a context:
 *   ctx.server  the running server (after `before`)
 *   ctx.pool    the SioPool closed after each test
 *   ctx.test    node:test's test(), but every test is skipped (with the reason)
 *               when the Rust binary is missing
 * Use ctx.test (never node:test's test) for every test of the file.
 */
export function useSioServer(kind, { events = false, env = {} } = {}) {
  const skip = sioSkipReason(kind);
  const ctx = { kind, server: null, pool: new SioPool(), skip };
  if (skip) {
    const bar = "!".repeat(78);
    process.stderr.write(
      `\n${bar}\n!!! SKIPPING every ${kind} test of this file (they do NOT count as passed):\n` +
        `!!!   ${skip}\n${bar}\n\n`,
    );
  } else {
    before(async () => {
      ctx.server = await startServer({ kind, events, env });
    });
    afterEach(async () => {
      await ctx.pool.closeAll(ctx.server);
      // (a test that stops the server on purpose sets ctx.serverStopped)
      if (!ctx.serverStopped) assertServerAlive(ctx.server);
    });
    after(async () => {
      await ctx.pool.closeAll(null);
      await ctx.server?.stop();
    });
  }
  ctx.test = (name, options, fn) => {
    if (typeof options === "function") [options, fn] = [{}, options];
    return nodeTest(name, skip ? { ...options, skip: `${kind}: ${skip}` } : options, fn);
  };
  return ctx;
}

// ---------------------------------------------------------------------------
// Recording what a client socket receives
// ---------------------------------------------------------------------------

/**
 * Records every event a socket.io-client socket receives from the server
 * (via onAny, so from before the connect event on), and its connect,
 * connect_error and disconnect events.
 */
export class Recorder {
  constructor(socket, label = "client") {
    this.label = label;
    this.received = []; // { event, args, at }
    this.disconnects = []; // reasons
    this.connectErrors = []; // Error
    this.connects = 0;
    this.waiters = new Set();
    socket.onAny((event, ...args) => this._push({ event, args, at: Date.now() }));
    socket.on("connect", () => {
      this.connects++;
      this._wake();
    });
    socket.on("connect_error", (err) => {
      this.connectErrors.push(err);
      this._wake();
    });
    socket.on("disconnect", (reason) => {
      this.disconnects.push(reason);
      this._wake();
    });
  }

  _push(rec) {
    this.received.push(rec);
    this._wake();
  }

  _wake() {
    for (const w of [...this.waiters]) w.check();
  }

  /** Received events named `event` (optionally filtered by pred(args)). */
  all(event, pred = () => true) {
    return this.received.filter((r) => r.event === event && pred(r.args));
  }

  /** Whether an event named `event` (matching pred) was received. */
  has(event, pred) {
    return this.all(event, pred).length > 0;
  }

  /** Waits until `cond()` returns a truthy value (checked on every recorded change). */
  until(cond, timeoutMs, what) {
    const v = cond();
    if (v) return Promise.resolve(v);
    let waiter;
    const p = new Promise((resolve) => {
      waiter = {
        check: () => {
          const r = cond();
          if (r) {
            this.waiters.delete(waiter);
            resolve(r);
          }
        },
      };
      this.waiters.add(waiter);
    });
    return withTimeout(p, timeoutMs, `${this.label}: ${what} (received so far: ${this.summary()})`).finally(() =>
      this.waiters.delete(waiter),
    );
  }

  /** Resolves with the args of the first `event` (matching pred) received, past or future. */
  async waitFor(event, timeoutMs, pred = () => true) {
    const r = await this.until(() => this.received.find((x) => x.event === event && pred(x.args)), timeoutMs, `event "${event}"`);
    return r.args;
  }

  /** Resolves with the args of the first `n` events named `event`. */
  async waitForCount(event, n, timeoutMs) {
    await this.until(() => this.all(event).length >= n, timeoutMs, `${n} "${event}" events (got ${this.all(event).length})`);
    return this.all(event).slice(0, n).map((r) => r.args);
  }

  /** Resolves with the first disconnect reason. */
  async waitDisconnect(timeoutMs) {
    await this.until(() => this.disconnects.length > 0, timeoutMs, "disconnect");
    return this.disconnects[0];
  }

  /** Resolves with the first connect_error. */
  async waitConnectError(timeoutMs) {
    await this.until(() => this.connectErrors.length > 0, timeoutMs, "connect_error");
    return this.connectErrors[0];
  }

  summary() {
    const names = this.received.map((r) => r.event);
    const tail = names.slice(-10).join(",");
    return `${names.length} events [..${tail}]; disconnects ${JSON.stringify(this.disconnects)}; connect_errors ${JSON.stringify(this.connectErrors.map((e) => e.message))}`;
  }
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

/**
 * Tracks socket.io-client sockets and managers and raw engine.io-client
 * sockets so that closeAll() can close everything after a test; with a
 * server that prints event lines, closeAll() also waits until the server
 * reported the disconnection of every namespace socket that connected, so
 * that no socket of one test is still present during the next.
 */
export class SioPool {
  constructor() {
    this.sockets = new Set();
    this.managers = new Set();
    this.engines = new Set();
    this.connected = []; // { nsp, id } of every socket that connected
  }

  trackSocket(socket) {
    this.sockets.add(socket);
    this.managers.add(socket.io);
    socket.on("connect", () => this.connected.push({ nsp: socket.nsp, id: socket.id }));
    return socket;
  }

  trackManager(manager) {
    this.managers.add(manager);
    return manager;
  }

  trackEngine(engine) {
    this.engines.add(engine);
    return engine;
  }

  async closeAll(server) {
    const engines = new Set(this.engines);
    for (const m of this.managers) if (m.engine) engines.add(m.engine);
    const closing = [...engines]
      .filter((e) => e.readyState !== "closed")
      .map((e) => withTimeout(new Promise((r) => e.once("close", r)), 2000, "engine close").catch(() => {}));
    for (const s of this.sockets) {
      try {
        s.disconnect();
      } catch {
        /* ignore */
      }
    }
    for (const e of engines) {
      try {
        if (e.readyState !== "closed") e.close();
      } catch {
        /* ignore */
      }
    }
    await Promise.all(closing);
    const connected = this.connected;
    this.sockets.clear();
    this.managers.clear();
    this.engines.clear();
    this.connected = [];
    if (server?.alive && server.eventsEnabled) {
      const missing = [];
      await Promise.all(
        connected.map(({ nsp, id }) =>
          server
            .waitFor((ev) => ev.event === "disconnect" && ev.id === id, 3000, `disconnect line for ${nsp} ${id}`)
            .catch(() => missing.push(`${nsp} ${id}`)),
        ),
      );
      if (missing.length) {
        throw new Error(`the server never reported the disconnection of: ${missing.join(", ")}`);
      }
    }
  }
}

/** Client options common to every socket of the tests. */
function baseOptions(setup, extra = {}) {
  return { path: SIO_PATH, reconnection: false, ...setup.opts, ...extra };
}

/**
 * A promise for the engine of `manager` to be on websocket after an upgrade
 * (created right after the manager, so that no upgrade event is missed).
 */
function upgradeWatch(manager) {
  const engine = manager.engine;
  assert.ok(engine, "the manager has no engine (autoConnect off?)");
  const p = new Promise((resolve, reject) => {
    engine.once("upgrade", (t) => resolve(t.name));
    engine.once("upgradeError", (e) => reject(new Error(`client upgradeError: ${e?.message}`)));
  });
  p.catch(() => {});
  return p;
}

/**
 * Waits until the engine under `manager` uses the setup's transport: for the
 * upgrade setup, until the engine emitted "upgrade" (to websocket).
 */
export async function awaitTransport(manager, setup, timeoutMs = 5000) {
  if (setup.upgrade) {
    assert.ok(manager.upgradeWatch, "no upgrade watch on this manager");
    const name = await withTimeout(manager.upgradeWatch, timeoutMs, "engine upgrade to websocket");
    assert.equal(name, "websocket", "the engine upgraded to");
  }
  assert.equal(manager.engine.transport.name, setup.transport, "the engine's transport");
}

/**
 * Creates a Manager (one engine.io connection, for several namespaces) with
 * the setup's options; waits for nothing. Its `upgraded` promise resolves
 * when the engine upgraded (setup with upgrade only).
 */
export function createManager(server, setup, pool, extra = {}) {
  const manager = new Manager(server.url, baseOptions(setup, extra));
  pool?.trackManager(manager);
  manager.upgradeWatch = setup.upgrade ? upgradeWatch(manager) : null;
  return manager;
}

/**
 * Opens a socket.io-client socket to namespace `nsp` (its own Manager unless
 * `manager` is given) and waits until it is connected; for the upgrade setup
 * also until the engine upgraded to websocket. The socket gets a Recorder as
 * `socket.rec` from creation on. Options: auth, query, extraHeaders,
 * clientOpts (more Manager options), manager, label, timeoutMs.
 */
export async function connectSio(server, setup, pool, options = {}) {
  const socket = openSio(server, setup, pool, options);
  const { timeoutMs = 5000 } = options;
  await withTimeout(
    new Promise((resolve, reject) => {
      if (socket.connected) return resolve();
      socket.once("connect", resolve);
      socket.once("connect_error", (e) => reject(new Error(`connect_error on ${socket.nsp}: ${e?.message}`)));
      socket.once("disconnect", (reason) => reject(new Error(`disconnected before connect: ${reason}`)));
    }),
    timeoutMs,
    `socket.io connect to ${socket.nsp} (${setup.name}) at ${server.url}`,
  );
  await awaitTransport(socket.io, setup, timeoutMs);
  return socket;
}

/**
 * Creates a socket (like connectSio) without waiting for anything: for
 * connect errors. The socket's Recorder is `socket.rec`.
 */
export function openSio(server, setup, pool, options = {}) {
  const { nsp = "/", auth, query, extraHeaders, clientOpts = {}, manager, label } = options;
  let socket;
  if (manager) {
    socket = manager.socket(nsp, auth !== undefined ? { auth } : {});
  } else {
    const extra = { forceNew: true, ...clientOpts };
    if (auth !== undefined) extra.auth = auth;
    if (query !== undefined) extra.query = query;
    if (extraHeaders !== undefined) extra.extraHeaders = extraHeaders;
    socket = io(server.url + nsp, baseOptions(setup, extra));
    socket.io.upgradeWatch = setup.upgrade ? upgradeWatch(socket.io) : null;
  }
  socket.rec = new Recorder(socket, label ?? `${nsp} client`);
  pool?.trackSocket(socket);
  return socket;
}

/** Connects `n` clients to `nsp`, labelled `${prefix}0`, `${prefix}1`, ... */
export function connectMany(server, setup, pool, n, options = {}) {
  const { prefix = "c" } = options;
  return Promise.all(
    Array.from({ length: n }, (_, i) => connectSio(server, setup, pool, { ...options, label: `${prefix}${i}` })),
  );
}

/**
 * Emits with an acknowledgement and resolves with the ack's arguments (an
 * array); rejects after timeoutMs.
 */
export function emitAck(socket, timeoutMs, event, ...args) {
  return withTimeout(
    new Promise((resolve) => socket.emit(event, ...args, (...ackArgs) => resolve(ackArgs))),
    timeoutMs,
    `ack of "${event}" on ${socket.nsp} (${socket.rec?.label ?? socket.id})`,
  );
}

/** Like emitAck, for an ack with exactly one argument: resolves with it. */
export async function ask(socket, timeoutMs, event, ...args) {
  const ackArgs = await emitAck(socket, timeoutMs, event, ...args);
  assert.equal(ackArgs.length, 1, `ack of "${event}" should have one argument, got ${ackArgs.length}`);
  return ackArgs[0];
}

/**
 * A raw engine.io-client socket on the socket.io path (joins no namespace by
 * itself). Resolves once open (`engine.openedAt` is the time of the open
 * event); for the upgrade setup once upgraded.
 */
export async function connectEngine(server, setup, pool, timeoutMs = 5000) {
  const engine = new EngineSocket(server.url, { path: SIO_PATH, ...setup.opts });
  pool?.trackEngine(engine);
  const watch = setup.upgrade
    ? new Promise((resolve, reject) => {
        engine.once("upgrade", (t) => resolve(t.name));
        engine.once("upgradeError", (e) => reject(new Error(`upgradeError ${e?.message}`)));
      })
    : null;
  watch?.catch(() => {});
  await withTimeout(
    new Promise((resolve, reject) => {
      engine.once("open", () => {
        engine.openedAt = Date.now();
        resolve();
      });
      engine.once("error", (e) => reject(new Error(`engine error before open: ${e?.message ?? e}`)));
      engine.once("close", (reason) => reject(new Error(`engine closed before open: ${reason}`)));
    }),
    timeoutMs,
    `engine.io open (${setup.name})`,
  );
  if (watch) assert.equal(await withTimeout(watch, timeoutMs, "engine upgrade"), "websocket");
  assert.equal(engine.transport.name, setup.transport);
  return engine;
}

/** Makes an engine.io-client socket silently drop its "pong" packets. */
export function dropPongs(engine) {
  const state = { dropped: 0 };
  const original = engine._sendPacket;
  assert.equal(typeof original, "function", "engine.io-client Socket#_sendPacket not found (client version changed?)");
  engine._sendPacket = function (type, ...rest) {
    if (type === "pong") {
      state.dropped++;
      return;
    }
    return original.call(this, type, ...rest);
  };
  return state;
}

/**
 * Deep copy of `value` with every binary (ArrayBuffer, typed array, Buffer)
 * turned into a Buffer, so that what was sent and what came back compare
 * with deepStrictEqual whatever binary type either side used. Strings stay
 * strings: binary that comes back as text (base64, a placeholder object...)
 * still fails the comparison.
 */
export function normalizeBinary(value) {
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(normalizeBinary);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalizeBinary(v);
    return out;
  }
  return value;
}

/** Asserts that `got` (as received) equals `expected` (as sent), binary-aware. */
export function assertSameArgs(got, expected, label) {
  assert.deepStrictEqual(normalizeBinary(got), normalizeBinary(expected), label);
}

/** Sorted copy. */
export const sorted = (a) => [...a].sort();

/**
 * A websocket-only socket.io-client of `url` for the cluster tests, kept in `clients` for the
 * caller to close: its events recorded (`socket.rec`), answering "ask" with `{ from: label,
 * value }`; resolves once connected, rejects on connect_error.
 */
export async function clusterClient(clients, url, label, opts = {}, timeoutMs = 5000) {
  const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false, ...opts });
  clients.push(socket);
  socket.rec = new Recorder(socket, label);
  socket.on("ask", (value, ack) => ack?.({ from: label, value }));
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (e) => reject(new Error(`${label}: connect_error ${e.message}`)));
    }),
    timeoutMs,
    `${label} to connect`,
  );
  return socket;
}

/**
 * Sends probes to `room` with `send(room, token)` (from whichever server) until `socket` gets
 * one as a "room" event: a remote join is applied when its message arrives, after the ack of
 * the request that made it.
 */
export async function reachesRoom(send, room, socket, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = uniqueToken("probe");
    await send(room, t);
    try {
      await socket.rec.waitFor("room", 200, (a) => a[0] === t);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${socket.rec.label} never reached in ${room}: ${error.message}`);
    }
  }
}

/**
 * After a moment, what `send` sends to `room` does not reach `socket`: a marker sent to the
 * socket's own room by the same server right after it comes first.
 */
export async function notInRoom(send, room, socket, timeoutMs = 5000) {
  await sleep(ABSENCE_MS);
  const t = uniqueToken("absent");
  await send(room, t);
  const marker = uniqueToken("marker");
  await send(socket.id, marker);
  await socket.rec.waitFor("room", timeoutMs, (a) => a[0] === marker);
  await sleep(ABSENCE_MS);
  assert.ok(!socket.rec.has("room", (a) => a[0] === t), `${socket.rec.label} still in ${room}`);
}

/**
 * disconnectSockets across a cluster of ours and a Node server (`node`: `{ url, io }`), both
 * ways: Node's disconnects a new client of ours, ours (asked through `asker`'s
 * "disconnect-sockets" event) a new client of Node's, and every socket of `bystanders` stays
 * connected. `client(url, label)` connects a recorded client.
 */
export async function disconnectsBothWays({ client, ourUrl, node, asker, bystanders, timeoutMs = 5000 }) {
  const victimOfNode = await client(ourUrl, "victim of Node's (ours)");
  const victimOfOurs = await client(node.url, "victim of ours (Node's)");
  node.io.in(victimOfNode.id).disconnectSockets();
  assert.equal(await victimOfNode.rec.waitDisconnect(timeoutMs), "io server disconnect");
  assert.deepStrictEqual(await emitAck(asker, timeoutMs, "disconnect-sockets", victimOfOurs.id), []);
  assert.equal(await victimOfOurs.rec.waitDisconnect(timeoutMs), "io server disconnect");
  await sleep(ABSENCE_MS);
  for (const socket of bystanders) assert.ok(socket.connected, `${socket.rec.label} was disconnected too`);
}

// ---------------------------------------------------------------------------
// Delivery checks (sio-features server)
// ---------------------------------------------------------------------------

let tokenCounter = 0;
/** A token unique within the run, to tell one emit from another. */
export const uniqueToken = (what = "t") => `${what}-${++tokenCounter}-${Math.random().toString(36).slice(2, 8)}`;

/** The recorder predicate "first argument is an object carrying `token`". */
export const withToken = (token) => (args) => args[0] !== null && typeof args[0] === "object" && args[0].token === token;

/**
 * Checks who received an emit under test (event `event`, first argument
 * `{token, ...}`): every socket of `receivers` gets it exactly once, every
 * other socket of `all` does not get it at all. Absence is concluded only
 * after a positive control: `initiator` asks the sio-features server for a
 * "control" event to every socket of "/" and "/empty" (nsp-emit), sent after
 * the emit under test; once every socket of `all` received the control, the
 * check waits ABSENCE_MS more before looking.
 */
export async function assertDelivery(initiator, all, receivers, event, token, { timeoutMs = 3000 } = {}) {
  const control = uniqueToken("control");
  initiator.emit("nsp-emit", "/", "control", { token: control });
  initiator.emit("nsp-emit", "/empty", "control", { token: control });
  await Promise.all(all.map((s) => s.rec.waitFor("control", timeoutMs, withToken(control))));
  await Promise.all(receivers.map((s) => s.rec.waitFor(event, timeoutMs, withToken(token))));
  await new Promise((r) => setTimeout(r, ABSENCE_MS));
  const label = (s) => s.rec.label;
  const problems = [];
  for (const s of all) {
    const n = s.rec.all(event, withToken(token)).length;
    const expected = receivers.includes(s) ? 1 : 0;
    if (n !== expected) problems.push(`${label(s)} received "${event}" ${n} time(s), expected ${expected}`);
  }
  assert.deepEqual(problems, [], `delivery of "${event}" (receivers: ${receivers.map(label).join(", ") || "none"})`);
}
