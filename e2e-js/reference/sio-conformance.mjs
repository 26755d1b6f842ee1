// Reference implementation of the "sio-conformance" contract, using Node's
// real socket.io 4.8. The Rust binary `sio-conformance` must behave the same.
//
//   PORT=4000 node reference/sio-conformance.mjs
//
// stdout: one JSON object per line; only {"event":"listening","port":N} once
// listening (this server has no other event lines).
//
// Namespace "/":       on connection emit("auth", handshake.auth);
//                      "message" (...args)        -> emit("message-back", ...args)
//                      "message-with-ack" (...args, ack) -> ack(...args)
//                      "stats" (ack)              -> ack({clients: io.engine.clientsCount,
//                                                     sockets: sockets in "/", tasks: null})
//                      (beside the conformance contract, for the resource-bound tests; the
//                      Rust server's "tasks" counts its tokio tasks, and its "flood" has no
//                      twin here: Node has no send-queue bound)
// Namespace "/custom": on connection emit("auth", handshake.auth).
// Any other namespace: CONNECT_ERROR {"message":"Invalid namespace"}.
// An engine.io connection that joins no namespace within 1000 ms is closed.
// PING_INTERVAL_MS and PING_TIMEOUT_MS replace the 300 ms / 200 ms heartbeat (tests with a
// thousand clients in one process, which cannot answer pings that fast), and
// CONNECT_TIMEOUT_MS the 1000 ms (their CONNECTs may wait longer on that process's loop).
//
// With REDIS_URL (e.g. redis://127.0.0.1:6379/): the server joins the Redis cluster there
// (@socket.io/redis-adapter 8.3 with the redis 4 client), with the handlers of Node's cluster
// tests (test/redis-conformance.test.mjs drives them):
//   server-side "hello" (...args)    -> io.emit("hello", ...args) to the whole cluster; with
//                                       an ack (serverSideEmitWithAck): ack(args[0]) instead
//                                       (null when there is no argument)
//   "/": "server-side-emit" (...args, ack?) -> io.serverSideEmit("hello", ...args); ack()
//   "/": "server-side-emit-with-ack" (...args, ack)
//                                    -> ack(await io.serverSideEmitWithAck("hello", ...args)),
//                                       or ack({error: message}) when not every server answered
//   "/": "fetch-sockets" (room, ack)   -> ack((await io.in(room).fetchSockets()).map(id).sort()),
//                                       or ack({error: message})
//   "/": "sockets-join" / "sockets-leave" (target, room, ack?)
//                                    -> io.in(target).socketsJoin(room) / socketsLeave(room); ack()
//   "/": "disconnect-sockets" (target, ack?) -> io.in(target).disconnectSockets(); ack()
// With REDIS_STREAMS_URL instead: the same, through @socket.io/redis-streams-adapter 0.3 (one
// redis 4 client; its defaults: stream "socket.io", sessions under "sio:session:"), which keeps
// sessions for connection state recovery in Redis.
// With POSTGRES_URL instead (e.g. postgres://postgres@127.0.0.1:5432/postgres): the same, through
// @socket.io/postgres-adapter 0.5 on a pg 8 Pool (its defaults: channels "socket.io#<nsp>", the
// table "socket_io_attachments", created here as its README does); PG_HEARTBEAT_MS and
// PG_HEARTBEAT_TIMEOUT_MS set heartbeatInterval (5000) and heartbeatTimeout (10000).
// With REDIS_CLUSTER_URLS instead (comma-separated redis://host:port URLs of nodes of one Redis 7
// Cluster): the same, through createShardedAdapter of @socket.io/redis-adapter 8.3 on the redis 4
// client's createCluster (sharded pub/sub); REDIS_SUBSCRIPTION_MODE sets its subscriptionMode
// ("dynamic" when unset). test/redis-sharded.test.mjs drives it.
// Setting more than one of REDIS_URL, REDIS_STREAMS_URL, POSTGRES_URL and REDIS_CLUSTER_URLS is
// refused at start.
// Without REDIS_URL, REDIS_STREAMS_URL, POSTGRES_URL or REDIS_CLUSTER_URLS none of these is registered ("set-data", which those tests use too, is
// among the handlers below, always there).
//
// With PARSER=msgpack: parser: socket.io-msgpack-parser 3.0 (clients must use it too).
//
// With ALLOW_EIO3=1: allowEIO3: true, serving engine.io v3 / socket.io protocol v4 clients
// (socket.io-client 2.x, python-socketio 4.x; test/eio3*.test.mjs) with the same handlers.
//
// With PER_MESSAGE_DEFLATE=1: perMessageDeflate: true (threshold 1024). With or without it,
// "uncompressed" (...args) is answered with socket.compress(false).emit("uncompressed-back", ...args).
//
// With RECOVERY_MS=N: connectionStateRecovery {maxDisconnectionDuration: N, skipMiddlewares:
// true}. With or without it, "/" has these handlers (test/recovery.test.mjs drives them;
// "ack" is called only when the client sent one):
//   "broadcast" (...args, ack?)      -> io.emit("broadcast", ...args); ack()
//   "join" (room, ack)               -> socket.join(room); ack(room)
//   "to-room" (room, ...args, ack?)  -> io.to(room).emit("room", ...args); ack()
//   "volatile" (...args, ack?)       -> io.volatile.emit("volatile", ...args); ack()
//   "broadcast-with-ack" (value, ack) -> io.timeout(1000).emit("ask", value, (err, answers) =>
//                                       ack({error: err ? err.message : null, answers}))
//   "set-data" (value, ack)          -> socket.data = value (null without one); ack()
//   "get-data" (ack)                 -> ack(socket.data)   ({} until set)
//   "get-recovered" (ack)            -> ack(socket.recovered)
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number.parseInt(process.env.PORT ?? "", 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`sio-conformance: PORT must be set to a port number, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}

function emitLine(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

let recoveryMs = null;
if (process.env.RECOVERY_MS !== undefined) {
  recoveryMs = Number.parseInt(process.env.RECOVERY_MS, 10);
  if (!Number.isInteger(recoveryMs) || recoveryMs < 0) {
    console.error(`sio-conformance: RECOVERY_MS must be a number of milliseconds, got ${JSON.stringify(process.env.RECOVERY_MS)}`);
    process.exit(2);
  }
}

if (process.env.PARSER !== undefined && process.env.PARSER !== "msgpack") {
  console.error(`sio-conformance: PARSER must be msgpack, got ${JSON.stringify(process.env.PARSER)}`);
  process.exit(2);
}
const parser = process.env.PARSER === "msgpack" ? (await import("socket.io-msgpack-parser")).default : undefined;

const httpServer = createServer();
const io = new Server(httpServer, {
  ...(parser ? { parser } : {}),
  ...(process.env.ALLOW_EIO3 === "1" ? { allowEIO3: true } : {}),
  ...(process.env.PER_MESSAGE_DEFLATE === "1" ? { perMessageDeflate: true } : {}),
  path: "/socket.io/",
  pingInterval: Number(process.env.PING_INTERVAL_MS ?? 300),
  pingTimeout: Number(process.env.PING_TIMEOUT_MS ?? 200),
  maxHttpBufferSize: 1e6,
  connectTimeout: Number(process.env.CONNECT_TIMEOUT_MS ?? 1000),
  cors: { origin: "*" },
  ...(recoveryMs === null
    ? {}
    : { connectionStateRecovery: { maxDisconnectionDuration: recoveryMs, skipMiddlewares: true } }),
});

const clusterVariables = ["REDIS_URL", "REDIS_STREAMS_URL", "POSTGRES_URL", "REDIS_CLUSTER_URLS"];
if (clusterVariables.filter((name) => process.env[name]).length > 1) {
  console.error(`sio-conformance: ${clusterVariables.join(", ")}: set one of them at most`);
  process.exit(2);
}
// The Redis clients, when in a cluster (closed on shutdown).
let redisClients = [];
if (process.env.REDIS_CLUSTER_URLS) {
  const [{ createShardedAdapter }, { createCluster }] = await Promise.all([
    import("@socket.io/redis-adapter"),
    import("redis"),
  ]);
  const rootNodes = process.env.REDIS_CLUSTER_URLS.split(",")
    .map((url) => url.trim())
    .filter((url) => url)
    .map((url) => ({ url }));
  const pub = createCluster({ rootNodes });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  redisClients = [pub, sub];
  const subscriptionMode = process.env.REDIS_SUBSCRIPTION_MODE ?? "dynamic";
  io.adapter(createShardedAdapter(pub, sub, { subscriptionMode }));
} else if (process.env.REDIS_URL) {
  const [{ createAdapter }, { createClient }] = await Promise.all([
    import("@socket.io/redis-adapter"),
    import("redis"),
  ]);
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  redisClients = [pub, sub];
  io.adapter(createAdapter(pub, sub));
} else if (process.env.REDIS_STREAMS_URL) {
  const [{ createAdapter }, { createClient }] = await Promise.all([
    import("@socket.io/redis-streams-adapter"),
    import("redis"),
  ]);
  const client = createClient({ url: process.env.REDIS_STREAMS_URL });
  await client.connect();
  redisClients = [client];
  io.adapter(createAdapter(client));
}
// The PostgreSQL pool, when in a cluster through it (ended on shutdown).
let pgPool = null;
if (process.env.POSTGRES_URL) {
  const [{ createAdapter }, { default: pg }] = await Promise.all([
    import("@socket.io/postgres-adapter"),
    import("pg"),
  ]);
  pgPool = new pg.Pool({ connectionString: process.env.POSTGRES_URL });
  // A lost connection is given back to the pool; unhandled, its error would end the process.
  pgPool.on("error", (error) => console.error(`postgres: ${error.message}`));
  // The adapter's LISTEN client is checked out, so pg emits its errors on the client itself:
  // unheard, a lost connection would end the process, and the adapter would never reconnect.
  pgPool.on("connect", (client) => client.on("error", (error) => console.error(`postgres: ${error.message}`)));
  await pgPool.query(`
    CREATE TABLE IF NOT EXISTS socket_io_attachments (
        id          bigserial UNIQUE,
        created_at  timestamptz DEFAULT NOW(),
        payload     bytea
    );
  `);
  const ms = (name) => (process.env[name] ? Number.parseInt(process.env[name], 10) : undefined);
  const heartbeats = Object.fromEntries(
    [["heartbeatInterval", ms("PG_HEARTBEAT_MS")], ["heartbeatTimeout", ms("PG_HEARTBEAT_TIMEOUT_MS")]]
      .filter(([, v]) => v !== undefined),
  );
  io.adapter(createAdapter(pgPool, heartbeats));
}
// A lost Redis connection is retried by the client; unhandled, its error would end the process.
for (const client of redisClients) client.on("error", (error) => console.error(`redis: ${error.message}`));
if (redisClients.length > 0 || pgPool) {
  io.on("hello", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(args.length ? args[0] : null);
    else io.emit("hello", ...args);
  });
  io.on("connection", (socket) => {
    socket.on("server-side-emit", (...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      io.serverSideEmit("hello", ...args);
      if (ack) ack();
    });
    socket.on("server-side-emit-with-ack", async (...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      let answer;
      try {
        // (bounded by the adapter's requestsTimeout, 5 s)
        answer = await io.serverSideEmitWithAck("hello", ...args);
      } catch (error) {
        answer = { error: error.message };
      }
      if (ack) ack(answer);
    });
    socket.on("fetch-sockets", async (room, ack) => {
      try {
        const found = await io.in(room).fetchSockets();
        ack?.(found.map((s) => s.id).sort());
      } catch (error) {
        ack?.({ error: error.message });
      }
    });
    socket.on("sockets-join", (target, room, ack) => {
      io.in(target).socketsJoin(room);
      ack?.();
    });
    socket.on("sockets-leave", (target, room, ack) => {
      io.in(target).socketsLeave(room);
      ack?.();
    });
    socket.on("disconnect-sockets", (target, ack) => {
      io.in(target).disconnectSockets();
      ack?.();
    });
  });
}

io.on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
  socket.on("message", (...args) => {
    socket.emit("message-back", ...args);
  });
  socket.on("uncompressed", (...args) => {
    socket.compress(false).emit("uncompressed-back", ...args);
  });
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    // (guard only so that a client omitting the ack cannot crash the reference)
    if (typeof ack === "function") ack(...args);
  });
  // The handlers of the recovery tests (see the header).
  const withAck = (handler) => (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : () => {};
    handler(ack, ...args);
  };
  socket.on("broadcast", withAck((ack, ...args) => {
    io.emit("broadcast", ...args);
    ack();
  }));
  socket.on("join", withAck((ack, room) => {
    socket.join(room);
    ack(room);
  }));
  socket.on("to-room", withAck((ack, room, ...args) => {
    io.to(room).emit("room", ...args);
    ack();
  }));
  socket.on("volatile", withAck((ack, ...args) => {
    io.volatile.emit("volatile", ...args);
    ack();
  }));
  socket.on("broadcast-with-ack", withAck((ack, value) => {
    io.timeout(1000).emit("ask", value, (err, answers) => ack({ error: err ? err.message : null, answers }));
  }));
  socket.on("set-data", withAck((ack, ...args) => {
    socket.data = args.length ? args[0] : null;
    ack();
  }));
  socket.on("get-data", withAck((ack) => ack(socket.data)));
  socket.on("get-recovered", withAck((ack) => ack(socket.recovered)));
  socket.on("stats", (ack) => {
    if (typeof ack === "function") {
      ack({ clients: io.engine.clientsCount, sockets: io.of("/").sockets.size, tasks: null });
    }
  });
});

io.of("/custom").on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
});

// ADMIN_UI=user:password: the admin UI's namespace /admin, as examples/sio-conformance's
// admin.rs (development mode unless ADMIN_MODE=production; ADMIN_READONLY=1 read-only;
// ADMIN_SERVER_ID names the server).
if (process.env.ADMIN_UI) {
  const [{ instrument }, { default: bcrypt }] = await Promise.all([
    import("@socket.io/admin-ui"),
    import("bcryptjs"),
  ]);
  const colon = process.env.ADMIN_UI.indexOf(":");
  instrument(io, {
    auth: {
      type: "basic",
      username: process.env.ADMIN_UI.slice(0, colon),
      password: bcrypt.hashSync(process.env.ADMIN_UI.slice(colon + 1), 4),
    },
    mode: process.env.ADMIN_MODE === "production" ? "production" : "development",
    readonly: process.env.ADMIN_READONLY === "1",
    serverId: process.env.ADMIN_SERVER_ID || "node",
  });
}

httpServer.listen(port, () => {
  emitLine({ event: "listening", port: httpServer.address().port });
});

// io.close() first: its adapter publishes ADAPTER_CLOSE through the pg pool or the Redis
// clients (as ours does on SIGTERM), which must still be open for it to go out.
function shutdown() {
  setTimeout(() => process.exit(0), 500).unref();
  io.close(async () => {
    await Promise.allSettled([...redisClients.map((client) => client.quit()), pgPool?.end()]);
    process.exit(0);
  });
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
