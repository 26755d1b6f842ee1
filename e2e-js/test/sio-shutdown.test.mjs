// Server shutdown against the `sio-features` server: on SIGTERM the server
// closes (io.close()): every socket disconnects with reason "server shutting
// down" (event lines), every client sees "transport close", and the process
// exits with code 0. The only test of its file, since it ends the server.
import assert from "node:assert/strict";
import { SIO_SETUPS, ask, connectSio, createManager, useSioServer } from "./sio-harness.mjs";

const ctx = useSioServer("sio-features", { events: true });
const { pool, test } = ctx;

test('SIGTERM: "server shutting down" for every socket, "transport close" for the clients, exit 0', { timeout: 20_000 }, async (t) => {
  const sockets = [];
  for (const setup of SIO_SETUPS) {
    const manager = createManager(ctx.server, setup, pool);
    const root = await connectSio(ctx.server, setup, pool, { manager, label: `${setup.name} /` });
    const empty = await connectSio(ctx.server, setup, pool, { manager, nsp: "/empty", label: `${setup.name} /empty` });
    await ask(root, 3000, "join", "some-room");
    sockets.push(root, empty);
  }
  const ids = sockets.map((s) => ({ nsp: s.nsp, id: s.id }));

  ctx.serverStopped = true;
  ctx.server.signal("SIGTERM");
  const exit = await ctx.server.waitExit(5000, "server exit after SIGTERM");
  assert.deepStrictEqual(exit, { code: 0, signal: null }, "exit status after SIGTERM");

  for (const { nsp, id } of ids) {
    const lines = ctx.server.events((ev) => ev.id === id && (ev.event === "disconnecting" || ev.event === "disconnect"));
    assert.deepStrictEqual(
      lines.map((ev) => [ev.event, ev.nsp, ev.reason]),
      [
        ["disconnecting", nsp, "server shutting down"],
        ["disconnect", nsp, "server shutting down"],
      ],
      `event lines of ${nsp} ${id}`,
    );
    if (nsp === "/") assert.ok(lines[0].rooms.includes("some-room"), "disconnecting lists the rooms still joined");
  }
  const reasons = await Promise.all(sockets.map((s) => s.rec.waitDisconnect(3000)));
  t.diagnostic(`client reasons: ${JSON.stringify(reasons)}`);
  sockets.forEach((s, i) => assert.equal(reasons[i], "transport close", `${s.rec.label}`));
});
