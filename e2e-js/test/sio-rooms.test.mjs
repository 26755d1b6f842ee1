// Rooms and broadcasting with several real socket.io-client clients against
// the `sio-features` server: join/leave/rooms, every broadcast operator (who
// receives, who does not), emits to another namespace, volatile emits,
// fetchSockets, socketsJoin/socketsLeave and socket.data.
import assert from "node:assert/strict";
import { describe } from "node:test";
import {
  SIO_SETUPS,
  assertDelivery,
  ask,
  connectMany,
  connectSio,
  createManager,
  emitAck,
  sorted,
  uniqueToken,
  useSioServer,
} from "./sio-harness.mjs";

const ctx = useSioServer("sio-features", { events: true });
const { pool, test } = ctx;

/**
 * Five clients on "/": A, B and C in room "r1"; C and D in room "r2"; E in
 * no room. Returns { A, B, C, D, E, all }.
 */
async function fiveClients(setup) {
  const all = await connectMany(ctx.server, setup, pool, 5, { prefix: "client" });
  const [A, B, C, D, E] = all;
  ["A", "B", "C", "D", "E"].forEach((name, i) => (all[i].rec.label = name));
  await Promise.all([ask(A, 3000, "join", "r1"), ask(B, 3000, "join", "r1"), ask(C, 3000, "join", "r1")]);
  await Promise.all([ask(C, 3000, "join", "r2"), ask(D, 3000, "join", "r2")]);
  return { A, B, C, D, E, all };
}

for (const setup of SIO_SETUPS) {
  describe(`rooms over ${setup.name}`, () => {
    test("join, leave and rooms answer the sorted rooms, own id included", { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      const id = socket.id;
      assert.deepStrictEqual(await ask(socket, 3000, "rooms"), [id], "a new socket is in its own room only");
      assert.deepStrictEqual(await ask(socket, 3000, "join", "zeta"), sorted([id, "zeta"]));
      assert.deepStrictEqual(await ask(socket, 3000, "join", "alpha"), sorted([id, "zeta", "alpha"]));
      assert.deepStrictEqual(await ask(socket, 3000, "join", "alpha"), sorted([id, "zeta", "alpha"]), "joining twice");
      assert.deepStrictEqual(await ask(socket, 3000, "rooms"), sorted([id, "zeta", "alpha"]));
      assert.deepStrictEqual(await ask(socket, 3000, "leave", "zeta"), sorted([id, "alpha"]));
      assert.deepStrictEqual(await ask(socket, 3000, "leave", "never-joined"), sorted([id, "alpha"]));
      assert.deepStrictEqual(await ask(socket, 3000, "leave", "alpha"), [id]);
      assert.deepStrictEqual(await ask(socket, 3000, "rooms"), [id]);
    });

    test("the socket id is a room: io.to(id) reaches that socket only", { timeout: 15_000 }, async () => {
      const { A, B, all } = await fiveClients(setup);
      const token = uniqueToken();
      A.emit("to", B.id, "private", { token });
      await assertDelivery(A, all, [B], "private", token);
    });

    test("rooms of one socket do not leak to another", { timeout: 15_000 }, async () => {
      const [x, y] = await connectMany(ctx.server, setup, pool, 2);
      await ask(x, 3000, "join", "only-x");
      assert.deepStrictEqual(await ask(y, 3000, "rooms"), [y.id]);
      assert.deepStrictEqual(await ask(x, 3000, "rooms"), sorted([x.id, "only-x"]));
    });
  });

  describe(`broadcast operators over ${setup.name}`, () => {
    // [title, emit(clients, token), receivers(clients)]
    const cases = [
      ['io.to("r1") reaches every member of r1, the sender included', ({ A }, token) => A.emit("to", "r1", "ev", { token, bin: Buffer.from([1, 2, 3]) }), (c) => [c.A, c.B, c.C]],
      ['io.to(["r1","r2"]) reaches the union once each', ({ A }, token) => A.emit("to", ["r1", "r2"], "ev", { token }), (c) => [c.A, c.B, c.C, c.D]],
      ['socket.to("r1") reaches r1 except the sender', ({ A }, token) => A.emit("broadcast-to", "r1", "ev", { token }), (c) => [c.B, c.C]],
      ['socket.to("r2") from a non-member reaches all of r2', ({ A }, token) => A.emit("broadcast-to", "r2", "ev", { token }), (c) => [c.C, c.D]],
      ["socket.broadcast reaches everyone but the sender", ({ A }, token) => A.emit("broadcast", "ev", { token }), (c) => [c.B, c.C, c.D, c.E]],
      ['io.except("r2") reaches everyone outside r2, the sender included', ({ A }, token) => A.emit("except", "r2", "ev", { token }), (c) => [c.A, c.B, c.E]],
      ['io.except(["r1","r2"]) reaches only sockets in neither room', ({ A }, token) => A.emit("except", ["r1", "r2"], "ev", { token }), (c) => [c.E]],
      ['io.to("r1").except("r2") reaches r1 minus r2', ({ A }, token) => A.emit("to-except", "r1", "r2", "ev", { token }), (c) => [c.A, c.B]],
      ['io.to("nobody-here") reaches no one', ({ A }, token) => A.emit("to", "nobody-here", "ev", { token }), () => []],
    ];
    for (const [title, emit, receivers] of cases) {
      test(title, { timeout: 15_000 }, async () => {
        const clients = await fiveClients(setup);
        const token = uniqueToken();
        emit(clients, token);
        await assertDelivery(clients.A, clients.all, receivers(clients), "ev", token);
        const got = clients.all.flatMap((s) => s.rec.all("ev"));
        for (const r of got) {
          assert.equal(r.args.length, 1, "the payload is the only argument");
          if (r.args[0].bin !== undefined) assert.deepStrictEqual(Buffer.from(r.args[0].bin), Buffer.from([1, 2, 3]));
        }
      });
    }
  });

  describe(`namespaces, volatile and server utilities over ${setup.name}`, () => {
    test("io.of(nsp).emit reaches the sockets of that namespace only", { timeout: 15_000 }, async () => {
      const A = await connectSio(ctx.server, setup, pool, { label: "A /" });
      const manager = createManager(ctx.server, setup, pool);
      const Broot = await connectSio(ctx.server, setup, pool, { manager, label: "B /" });
      const Bempty = await connectSio(ctx.server, setup, pool, { manager, nsp: "/empty", label: "B /empty" });
      const C = await connectSio(ctx.server, setup, pool, { nsp: "/empty", label: "C /empty" });
      const all = [A, Broot, Bempty, C];
      const t1 = uniqueToken();
      A.emit("nsp-emit", "/empty", "news", { token: t1 });
      await assertDelivery(A, all, [Bempty, C], "news", t1);
      const t2 = uniqueToken();
      A.emit("nsp-emit", "/", "news", { token: t2 });
      await assertDelivery(A, all, [A, Broot], "news", t2);
    });

    test("a volatile emit reaches a connected, writable client", { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      // a round trip first, then a pause: over polling a GET is then pending
      await ask(socket, 3000, "rooms");
      await new Promise((r) => setTimeout(r, 100));
      socket.emit("volatile", "vol", { token: "v1", data: [1, 2, 3] });
      assert.deepStrictEqual(await socket.rec.waitFor("vol", 3000), [{ token: "v1", data: [1, 2, 3] }]);
    });

    test("fetchSockets lists the sockets of a room, or of the namespace", { timeout: 15_000 }, async () => {
      const [A, B, C] = await connectMany(ctx.server, setup, pool, 3);
      const other = await connectSio(ctx.server, setup, pool, { nsp: "/empty" });
      await ask(A, 3000, "join", "f");
      await ask(B, 3000, "join", "f");
      assert.deepStrictEqual(await ask(C, 3000, "fetch", "f"), sorted([A.id, B.id]));
      assert.deepStrictEqual(await ask(C, 3000, "fetch", null), sorted([A.id, B.id, C.id]), "every socket of / (not /empty)");
      assert.ok(!(await ask(C, 3000, "fetch", null)).includes(other.id));
      assert.deepStrictEqual(await ask(C, 3000, "fetch", "empty-room"), []);
      assert.deepStrictEqual(await ask(C, 3000, "fetch", C.id), [C.id]);
    });

    test("socketsJoin and socketsLeave move every socket of a room", { timeout: 15_000 }, async () => {
      const [A, B, C] = await connectMany(ctx.server, setup, pool, 3, { prefix: "s" });
      await ask(A, 3000, "join", "src");
      await ask(B, 3000, "join", "src");
      assert.deepStrictEqual(await emitAck(C, 3000, "sockets-join", "src", "dst"), []);
      assert.deepStrictEqual(await ask(A, 3000, "rooms"), sorted([A.id, "src", "dst"]));
      assert.deepStrictEqual(await ask(B, 3000, "rooms"), sorted([B.id, "src", "dst"]));
      assert.deepStrictEqual(await ask(C, 3000, "rooms"), [C.id]);
      const token = uniqueToken();
      C.emit("to", "dst", "ev", { token });
      await assertDelivery(C, [A, B, C], [A, B], "ev", token);

      // the target of a single socket's room
      assert.deepStrictEqual(await emitAck(A, 3000, "sockets-join", C.id, "dst"), []);
      assert.deepStrictEqual(await ask(C, 3000, "rooms"), sorted([C.id, "dst"]));

      assert.deepStrictEqual(await emitAck(C, 3000, "sockets-leave", "src", "dst"), []);
      assert.deepStrictEqual(await ask(A, 3000, "rooms"), sorted([A.id, "src"]));
      assert.deepStrictEqual(await ask(B, 3000, "rooms"), sorted([B.id, "src"]));
      assert.deepStrictEqual(await ask(C, 3000, "rooms"), sorted([C.id, "dst"]), "C was not in src");
      assert.deepStrictEqual(await ask(C, 3000, "fetch", "dst"), [C.id]);
    });

    test("socket.data is kept per socket", { timeout: 15_000 }, async () => {
      const [A, B] = await connectMany(ctx.server, setup, pool, 2);
      assert.equal(await ask(A, 3000, "data-get"), null, "no data yet");
      assert.deepStrictEqual(await emitAck(A, 3000, "data-set", { user: "alice", n: [1, 2] }), []);
      assert.deepStrictEqual(await ask(A, 3000, "data-get"), { user: "alice", n: [1, 2] });
      assert.equal(await ask(B, 3000, "data-get"), null, "another socket's data is separate");
      await emitAck(A, 3000, "data-set", "replaced");
      assert.equal(await ask(A, 3000, "data-get"), "replaced");
    });
  });
}

describe("broadcast across transports", () => {
  test("one broadcast reaches clients on websocket, polling and upgraded connections alike", { timeout: 15_000 }, async () => {
    const clients = [];
    for (const setup of SIO_SETUPS) {
      const s = await connectSio(ctx.server, setup, pool, { label: setup.name });
      await ask(s, 3000, "join", "mixed");
      clients.push(s);
    }
    const outsider = await connectSio(ctx.server, SIO_SETUPS[0], pool, { label: "outsider" });
    const all = [...clients, outsider];
    const token = uniqueToken();
    outsider.emit("to", "mixed", "ev", { token, bin: Buffer.from("xyz") });
    await assertDelivery(outsider, all, clients, "ev", token);
    for (const s of clients) {
      const [payload] = await s.rec.waitFor("ev", 1000);
      assert.ok(Buffer.isBuffer(payload.bin), `${s.rec.label}: binary arrived as binary`);
      assert.equal(payload.bin.toString(), "xyz");
    }
  });
});
