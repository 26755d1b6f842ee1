// Node socket.io peer for the benchmarks in bench/: the bench-server protocol on `/`
// (handlers.mjs).
// PORT (3000). With REDIS_URL it joins a cluster through @socket.io/redis-adapter, with
// REDIS_STREAMS_URL through @socket.io/redis-streams-adapter, with POSTGRES_URL through
// @socket.io/postgres-adapter on a pg Pool (the attachments table made when missing), with
// REDIS_CLUSTER_URLS (comma-separated redis://host:port URLs of nodes of one Redis 7 Cluster)
// through createShardedAdapter of @socket.io/redis-adapter on redis 4's createCluster, in its
// default subscriptionMode (dynamic), as e2e-js/reference/sio-conformance.mjs does.
// RECOVERY=1 turns connectionStateRecovery on with its defaults (2 minutes).
// PARSER=msgpack speaks socket.io-msgpack-parser.
// PER_MESSAGE_DEFLATE=1: perMessageDeflate: true (threshold 1024).
// Prints {"event":"listening","port":N} once it accepts connections.
// bufferutil, when installed, is picked up by ws (socket.io's websocket server) by itself.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { benchHandlers } from "./handlers.mjs";

const httpServer = createServer();
const io = new Server(httpServer, {
  path: "/socket.io/",
  transports: ["polling", "websocket"],
  ...(process.env.RECOVERY === "1" ? { connectionStateRecovery: {} } : {}),
  ...(process.env.PARSER === "msgpack" ? { parser: (await import("socket.io-msgpack-parser")).default } : {}),
  ...(process.env.PER_MESSAGE_DEFLATE === "1" ? { perMessageDeflate: true } : {}),
});
if (process.env.REDIS_CLUSTER_URLS) {
  const { createShardedAdapter } = await import("@socket.io/redis-adapter");
  const { createCluster } = await import("redis");
  const rootNodes = process.env.REDIS_CLUSTER_URLS.split(",")
    .map((url) => url.trim())
    .filter((url) => url)
    .map((url) => ({ url }));
  const pub = createCluster({ rootNodes });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createShardedAdapter(pub, sub));
} else if (process.env.REDIS_URL) {
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
} else if (process.env.REDIS_STREAMS_URL) {
  const { createAdapter } = await import("@socket.io/redis-streams-adapter");
  const { createClient } = await import("redis");
  const client = createClient({ url: process.env.REDIS_STREAMS_URL });
  await client.connect();
  io.adapter(createAdapter(client));
} else if (process.env.POSTGRES_URL) {
  const { createAdapter } = await import("@socket.io/postgres-adapter");
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({ connectionString: process.env.POSTGRES_URL });
  await pool.query(
    "CREATE TABLE IF NOT EXISTS socket_io_attachments (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)",
  );
  io.adapter(createAdapter(pool));
}

io.on("connection", (socket) => benchHandlers(io, socket));

httpServer.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  const { port } = httpServer.address();
  process.stdout.write(JSON.stringify({ event: "listening", port }) + "\n");
});

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
