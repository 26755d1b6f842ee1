// Reference implementation of the "conformance server" contract, using Node's
// real engine.io 6.6. The Rust binary `eio-conformance` must behave the same.
//
//   PORT=4000 EIO_EVENTS=1 node reference/eio-server.mjs
//
// stdout: one JSON object per line:
//   {"event":"listening","port":N}                      always, once listening
//   {"event":"connection","sid":"..","transport":".."}  with EIO_EVENTS=1
//   {"event":"upgrade","sid":"..","transport":"websocket"}
//   {"event":"drain","sid":".."}
//   {"event":"close","sid":"..","reason":".."}
// Every message received (text or binary) is sent straight back. With COOKIE=1 the server sets
// engine.io's session cookie (`cookie: true`) on each handshake.
import { listen } from "engine.io";

const port = Number.parseInt(process.env.PORT ?? "", 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`eio-server: PORT must be set to a port number, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}
const events = process.env.EIO_EVENTS === "1";

function emitLine(obj) {
  // process.stdout is synchronous for files and pipes on POSIX, so each line
  // is flushed as soon as it is written.
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const server = listen(
  port,
  {
    path: "/engine.io/",
    pingInterval: 300,
    pingTimeout: 200,
    maxHttpBufferSize: 1e6,
    cors: { origin: "*" },
    ...(process.env.COOKIE === "1" ? { cookie: true } : {}),
  },
  () => {
    emitLine({ event: "listening", port: server.httpServer.address().port });
  },
);
// engine.io's listen() exposes the http.Server it created as `httpServer`.

server.on("connection", (socket) => {
  const sid = socket.id;
  if (events) emitLine({ event: "connection", sid, transport: socket.transport.name });
  socket.on("message", (data) => socket.send(data));
  if (events) {
    socket.on("upgrade", (transport) => emitLine({ event: "upgrade", sid, transport: transport.name }));
    socket.on("drain", () => emitLine({ event: "drain", sid }));
    socket.on("close", (reason) => emitLine({ event: "close", sid, reason }));
  }
});

function shutdown() {
  server.close();
  server.httpServer.close();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
