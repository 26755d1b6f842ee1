// The bench-server protocol's handlers on one socket, shared by the benchmark's Node peer
// (server.mjs) and the Node server of the e2e cluster test (e2e-js/reference/redis-node.mjs):
// - `echo` acks with its arguments, or emits them back as `echo` when no ack is asked;
// - `join(room)` joins the room, then acks with no arguments;
// - `broadcast(room | null, payload)` emits `bcast(payload)` to the room (the whole namespace
//   for null), the sender included, then acks with no arguments.
export function benchHandlers(io, socket) {
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
}
