// Reference implementation of the "sio-features" contract, using Node's real
// socket.io 4.8. The Rust binary `sio-features` must behave the same; see
// e2e-js/README.md for the contract in prose.
//
//   PORT=4000 SIO_EVENTS=1 node reference/sio-features.mjs
//
// stdout: one JSON object per line:
//   {"event":"listening","port":N}                                 always, once listening
// with SIO_EVENTS=1, for every namespace socket (any namespace):
//   {"event":"connection","nsp":"/","id":".."}
//   {"event":"disconnecting","nsp":"/","id":"..","reason":"..","rooms":[sorted rooms]}
//   {"event":"disconnect","nsp":"/","id":"..","reason":".."}
// On SIGTERM/SIGINT: io.close() (every socket disconnects with reason
// "server shutting down", event lines included), then exit 0.
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number.parseInt(process.env.PORT ?? "", 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`sio-features: PORT must be set to a port number, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}
const events = process.env.SIO_EVENTS === "1";

function emitLine(obj) {
  // synchronous for pipes on POSIX: each line is flushed as it is written
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const httpServer = createServer();
const io = new Server(httpServer, {
  path: "/socket.io/",
  // the contract's heartbeat, unless the environment sets another
  pingInterval: Number(process.env.PING_INTERVAL_MS ?? 300),
  pingTimeout: Number(process.env.PING_TIMEOUT_MS ?? 200),
  maxHttpBufferSize: 1e6,
  connectTimeout: 1000,
  cors: { origin: "*" },
});

const sortedRooms = (socket) => [...socket.rooms].sort();

/** Event lines for every namespace socket. */
function instrument(socket) {
  if (!events) return;
  const nsp = socket.nsp.name;
  const id = socket.id;
  emitLine({ event: "connection", nsp, id });
  socket.on("disconnecting", (reason) => {
    emitLine({ event: "disconnecting", nsp, id, reason, rooms: sortedRooms(socket) });
  });
  socket.on("disconnect", (reason) => {
    emitLine({ event: "disconnect", nsp, id, reason });
  });
}

/** The last argument, if it is an acknowledgement callback. */
function popAck(args) {
  return typeof args[args.length - 1] === "function" ? args.pop() : () => {};
}

// ---------------------------------------------------------------------------
// Namespace "/"
// ---------------------------------------------------------------------------
io.on("connection", (socket) => {
  instrument(socket);

  // message middleware: the "forbidden" event never reaches its handler
  socket.use(([event], next) => (event === "forbidden" ? next(new Error("forbidden event")) : next()));
  socket.on("error", (err) => socket.emit("middleware-error", err.message));
  // a handler that must never run (the middleware rejects the event first)
  socket.on("forbidden", (...args) => {
    socket.emit("forbidden-ran");
    popAck(args)("ran");
  });

  socket.onAny((event, ...args) => {
    if (event === "any-probe") socket.emit("any-seen", event, ...args);
  });

  socket.on("message", (...args) => socket.emit("message-back", ...args));
  socket.on("message-with-ack", (...args) => {
    const ack = popAck(args);
    ack(...args);
  });

  // rooms
  socket.on("join", async (room, ack) => {
    await socket.join(room);
    ack(sortedRooms(socket));
  });
  socket.on("leave", async (room, ack) => {
    await socket.leave(room);
    ack(sortedRooms(socket));
  });
  socket.on("rooms", (ack) => ack(sortedRooms(socket)));

  // broadcast operators
  socket.on("to", (room, event, payload) => io.to(room).emit(event, payload));
  socket.on("broadcast-to", (room, event, payload) => socket.to(room).emit(event, payload));
  socket.on("broadcast", (event, payload) => socket.broadcast.emit(event, payload));
  socket.on("except", (room, event, payload) => io.except(room).emit(event, payload));
  socket.on("to-except", (to, except, event, payload) => io.to(to).except(except).emit(event, payload));
  socket.on("nsp-emit", (nsp, event, payload) => io.of(nsp).emit(event, payload));
  socket.on("volatile", (event, payload) => socket.volatile.emit(event, payload));

  // acknowledgements from the server to clients
  socket.on("server-ack", (payload, timeoutMs, ack) => {
    socket.timeout(timeoutMs).emit("ask", payload, (err, answer) => ack(err ? { error: err.message } : { answer }));
  });
  socket.on("broadcast-ack", (room, timeoutMs, ack) => {
    (room ? io.to(room) : io).timeout(timeoutMs).emit("ask", "question", (err, answers) =>
      ack({ error: err ? err.message : null, answers: answers ? [...answers].sort() : null }),
    );
  });

  // disconnections
  socket.on("disconnect-me", (close) => socket.disconnect(close));
  socket.on("disconnect-room", (room, close) => io.in(room).disconnectSockets(close));

  // server-side utilities
  socket.on("fetch", async (room, ack) => {
    const sockets = await (room ? io.in(room) : io).fetchSockets();
    ack(sockets.map((s) => s.id).sort());
  });
  socket.on("sockets-join", (room, target, ack) => {
    io.in(room).socketsJoin(target);
    ack();
  });
  socket.on("sockets-leave", (room, target, ack) => {
    io.in(room).socketsLeave(target);
    ack();
  });
  socket.on("data-set", (value, ack) => {
    socket.data.value = value;
    ack();
  });
  socket.on("data-get", (ack) => ack(socket.data.value ?? null));
  socket.on("handshake", (ack) =>
    ack({
      query: socket.handshake.query,
      auth: socket.handshake.auth,
      url: socket.handshake.url,
      address: socket.handshake.address,
      headers: { "x-test": socket.handshake.headers["x-test"] ?? null },
      id: socket.id,
      connected: socket.connected,
    }),
  );
});

// ---------------------------------------------------------------------------
// Other namespaces
// ---------------------------------------------------------------------------
const admin = io.of("/admin");
admin.use((socket, next) =>
  socket.handshake.auth?.token === "secret"
    ? next()
    : next(Object.assign(new Error("unauthorized"), { data: { reason: "bad token" } })),
);
admin.on("connection", (socket) => {
  instrument(socket);
  socket.emit("welcome", "admin");
});

io.of(/^\/dyn-\d+$/).on("connection", (socket) => {
  instrument(socket);
  socket.emit("hello", socket.nsp.name);
});

io.of((name, auth, next) => next(null, name.startsWith("/fn-"))).on("connection", (socket) => {
  instrument(socket);
  socket.emit("hello", socket.nsp.name);
});

io.of("/empty").on("connection", (socket) => instrument(socket));

httpServer.listen(port, () => {
  emitLine({ event: "listening", port: httpServer.address().port });
});

function shutdown() {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
