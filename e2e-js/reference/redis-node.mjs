// A Node socket.io 4.8 server in a Redis cluster (@socket.io/redis-adapter 8.3, createAdapter),
// with the handlers of the project's bench-server (examples/bench-server): echo, join and
// broadcast with acks, and the cluster handlers (servers, fetch, all-rooms, ask-servers,
// remote-join, remote-leave, remote-disconnect, ack-all).
// PORT, REDIS_URL and SERVER_NAME.
// Prints {"event":"listening","port":N} once it accepts connections.
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
// The benchmark peer's handlers, so that both Node servers speak the same protocol.
import { benchHandlers } from "../../bench/peers/node/handlers.mjs";

const pub = createClient({ url: process.env.REDIS_URL });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
io.on("whoami", (cb) => cb(process.env.SERVER_NAME ?? ""));
io.on("connection", (socket) => {
  benchHandlers(io, socket);
  socket.on("servers", async (ack) => ack(await io.of("/").adapter.serverCount()));
  socket.on("all-rooms", async (ack) => ack([...(await io.of("/").adapter.allRooms())].sort()));
  socket.on("fetch", async (ack) => ack((await io.fetchSockets()).map((s) => s.id).sort()));
  socket.on("ask-servers", async (ack) =>
    ack((await io.serverSideEmitWithAck("whoami")).sort()),
  );
  socket.on("ack-all", async (ack) => {
    try {
      const answers = await io.timeout(2000).emitWithAck("ping", 1);
      ack(answers.map((a) => JSON.stringify(a)).sort());
    } catch (error) {
      ack([`error: ${error.message}`]);
    }
  });
  socket.on("remote-join", (id, room, ack) => {
    io.in(id).socketsJoin(room);
    ack();
  });
  socket.on("remote-leave", (id, room, ack) => {
    io.in(id).socketsLeave(room);
    ack();
  });
  socket.on("remote-disconnect", (id, ack) => {
    io.in(id).disconnectSockets();
    ack();
  });
});

httpServer.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(JSON.stringify({ event: "listening", port: httpServer.address().port }));
});
const stop = () => {
  io.close();
  Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
