// Node socket.io peer for the benchmarks in bench/: the bench-server protocol on `/`,
// - `echo` acks with its arguments, or emits them back as `echo` when no ack is asked;
// - `join(room)` joins the room, then acks with no arguments;
// - `broadcast(room | null, payload)` emits `bcast(payload)` to the room (the whole namespace
//   for null), the sender included, then acks with no arguments.
// PORT (3000). With REDIS_URL it joins a cluster through @socket.io/redis-adapter.
// Prints {"event":"listening","port":N} once it accepts connections.
// bufferutil, when installed, is picked up by ws (socket.io's websocket server) by itself.
import { createServer } from "node:http";
import { Server } from "socket.io";

const httpServer = createServer();
const io = new Server(httpServer, {
  path: "/socket.io/",
  transports: ["polling", "websocket"],
});
if (process.env.REDIS_URL) {
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = typeof args.at(-1) === "function" ? args.pop() : null;
    if (ack) ack(...args);
    else socket.emit("echo", ...args);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    ack?.();
  });
  socket.on("broadcast", (room, payload, ack) => {
    // io.to(room) (unlike socket.to(room)) includes the sender.
    (room === null ? io : io.to(room)).emit("bcast", payload);
    ack?.();
  });
});

httpServer.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  const { port } = httpServer.address();
  process.stdout.write(JSON.stringify({ event: "listening", port }) + "\n");
});

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
