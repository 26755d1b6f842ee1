// Handshake data, middlewares, catch-all listeners and namespaces (with a
// connect middleware, dynamic by regex and by predicate) against the
// `sio-features` server.
import assert from "node:assert/strict";
import { describe } from "node:test";
import { sleep } from "./harness.mjs";
import {
  ABSENCE_MS,
  SIO_SETUPS,
  ask,
  assertSameArgs,
  connectSio,
  createManager,
  emitAck,
  openSio,
  uniqueToken,
  useSioServer,
  withToken,
} from "./sio-harness.mjs";

const ctx = useSioServer("sio-features", { events: true });
const { pool, test } = ctx;

const LOOPBACK = ["127.0.0.1", "::ffff:127.0.0.1"];

for (const setup of SIO_SETUPS) {
  const firstTransport = setup.name === "websocket only" ? "websocket" : "polling";

  describe(`handshake over ${setup.name}`, () => {
    test("query, auth, url, headers and address as the server saw them", { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool, {
        query: { foo: "bar", n: "1" },
        auth: { user: "u", list: [1, 2] },
        extraHeaders: { "x-test": "hello" },
      });
      const hs = await ask(socket, 3000, "handshake");
      assert.equal(hs.id, socket.id);
      assert.equal(hs.connected, true);
      assert.deepStrictEqual(hs.auth, { user: "u", list: [1, 2] });
      assert.equal(hs.query.foo, "bar");
      assert.equal(hs.query.n, "1");
      assert.equal(hs.query.EIO, "4");
      assert.equal(hs.query.transport, firstTransport, "the transport of the first request");
      assert.equal(typeof hs.url, "string");
      assert.ok(hs.url.startsWith("/socket.io/?"), `url ${hs.url}`);
      const params = new URLSearchParams(hs.url.slice(hs.url.indexOf("?") + 1));
      assert.equal(params.get("foo"), "bar", `url ${hs.url}`);
      assert.equal(params.get("EIO"), "4", `url ${hs.url}`);
      assert.equal(params.get("transport"), firstTransport, `url ${hs.url}`);
      assert.deepStrictEqual(hs.headers, { "x-test": "hello" });
      assert.ok(LOOPBACK.includes(hs.address), `address ${hs.address}`);
    });

    test("without auth, query or headers: auth {} and x-test null", { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      const hs = await ask(socket, 3000, "handshake");
      assert.deepStrictEqual(hs.auth, {});
      assert.deepStrictEqual(hs.headers, { "x-test": null });
      assert.equal(hs.query.foo, undefined);
      assert.equal(hs.query.EIO, "4");
    });
  });

  describe(`middlewares and catch-all over ${setup.name}`, () => {
    test('a message middleware rejecting "forbidden": "middleware-error", the handler does not run', { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      let acked = false;
      socket.emit("forbidden", { token: "f" }, () => (acked = true));
      assert.deepStrictEqual(await socket.rec.waitFor("middleware-error", 3000), ["forbidden event"]);
      // a positive control after it, then a bounded wait: the handler never ran
      assert.deepStrictEqual(await emitAck(socket, 3000, "message-with-ack", "control"), ["control"]);
      await sleep(ABSENCE_MS);
      assert.equal(socket.rec.has("forbidden-ran"), false, 'the "forbidden" handler ran');
      assert.equal(acked, false, "the rejected event was acknowledged");
      assert.equal(socket.rec.all("middleware-error").length, 1);
      assert.equal(socket.connected, true, "a rejected event does not disconnect");
      // other events still pass the middleware
      socket.emit("message", "allowed");
      assert.deepStrictEqual(await socket.rec.waitFor("message-back", 3000), ["allowed"]);
    });

    test("onAny sees every event: any-probe comes back as any-seen with its arguments", { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool);
      socket.emit("any-probe", 1, { a: [2, "three"] }, Buffer.from([4, 5]));
      const got = await socket.rec.waitFor("any-seen", 3000);
      assertSameArgs(got, ["any-probe", 1, { a: [2, "three"] }, Buffer.from([4, 5])], "any-seen arguments");
      assert.ok(Buffer.isBuffer(got[3]));
      // other events do not produce any-seen
      socket.emit("message", "not a probe");
      await socket.rec.waitFor("message-back", 3000);
      await sleep(ABSENCE_MS);
      assert.equal(socket.rec.all("any-seen").length, 1);
    });
  });

  describe(`namespaces over ${setup.name}`, () => {
    test('"/admin" without a token: connect_error "unauthorized" with data {reason: "bad token"}', { timeout: 15_000 }, async () => {
      const socket = openSio(ctx.server, setup, pool, { nsp: "/admin" });
      const err = await socket.rec.waitConnectError(3000);
      assert.equal(err.message, "unauthorized");
      assert.deepStrictEqual(err.data, { reason: "bad token" });
      assert.equal(socket.connected, false);
      assert.equal(socket.rec.has("welcome"), false);
    });

    test('"/admin" with a wrong token: connect_error "unauthorized"', { timeout: 15_000 }, async () => {
      const socket = openSio(ctx.server, setup, pool, { nsp: "/admin", auth: { token: "wrong" } });
      const err = await socket.rec.waitConnectError(3000);
      assert.equal(err.message, "unauthorized");
      assert.deepStrictEqual(err.data, { reason: "bad token" });
      assert.equal(socket.rec.connects, 0);
    });

    test('"/admin" with the right token: connected, "welcome" "admin"', { timeout: 15_000 }, async () => {
      const socket = await connectSio(ctx.server, setup, pool, { nsp: "/admin", auth: { token: "secret" } });
      assert.deepStrictEqual(await socket.rec.waitFor("welcome", 3000), ["admin"]);
      const line = await ctx.server.waitFor((ev) => ev.event === "connection" && ev.id === socket.id, 3000, "connection line");
      assert.equal(line.nsp, "/admin");
    });

    test('a rejected "/admin" does not affect "/" on the same connection', { timeout: 15_000 }, async () => {
      const manager = createManager(ctx.server, setup, pool);
      const root = await connectSio(ctx.server, setup, pool, { manager });
      const admin = openSio(ctx.server, setup, pool, { manager, nsp: "/admin", auth: { token: "nope" } });
      assert.equal((await admin.rec.waitConnectError(3000)).message, "unauthorized");
      assert.equal(root.connected, true);
      assert.deepStrictEqual(await emitAck(root, 3000, "message-with-ack", "ok"), ["ok"]);
    });

    test("dynamic namespaces by regex: /dyn-<digits>", { timeout: 15_000 }, async () => {
      const a = await connectSio(ctx.server, setup, pool, { nsp: "/dyn-42" });
      const b = await connectSio(ctx.server, setup, pool, { nsp: "/dyn-7" });
      assert.deepStrictEqual(await a.rec.waitFor("hello", 3000), ["/dyn-42"]);
      assert.deepStrictEqual(await b.rec.waitFor("hello", 3000), ["/dyn-7"]);
      const line = await ctx.server.waitFor((ev) => ev.event === "connection" && ev.id === a.id, 3000, "connection line");
      assert.equal(line.nsp, "/dyn-42", "the child namespace's name");
    });

    test("dynamic namespaces by predicate: /fn-*", { timeout: 15_000 }, async () => {
      const a = await connectSio(ctx.server, setup, pool, { nsp: "/fn-abc" });
      assert.deepStrictEqual(await a.rec.waitFor("hello", 3000), ["/fn-abc"]);
    });

    test("an emit to a dynamic child namespace reaches its sockets only", { timeout: 15_000 }, async () => {
      const root = await connectSio(ctx.server, setup, pool, { label: "root" });
      const d1 = await connectSio(ctx.server, setup, pool, { nsp: "/dyn-1", label: "dyn-1" });
      const d2 = await connectSio(ctx.server, setup, pool, { nsp: "/dyn-2", label: "dyn-2" });
      const token = uniqueToken();
      const control = uniqueToken("control");
      root.emit("nsp-emit", "/dyn-1", "news", { token });
      // positive controls sent after it, to the other namespaces
      root.emit("nsp-emit", "/dyn-2", "control", { token: control });
      root.emit("nsp-emit", "/", "control", { token: control });
      await d1.rec.waitFor("news", 3000, withToken(token));
      await d2.rec.waitFor("control", 3000, withToken(control));
      await root.rec.waitFor("control", 3000, withToken(control));
      await sleep(ABSENCE_MS);
      assert.equal(d1.rec.all("news").length, 1);
      assert.equal(d2.rec.has("news"), false, "/dyn-2 got an emit meant for /dyn-1");
      assert.equal(root.rec.has("news"), false, "/ got an emit meant for /dyn-1");
    });

    for (const nsp of ["/dyn-x", "/dyn-", "/fn", "/other", "/ADMIN"]) {
      test(`a name no parent accepts (${nsp}): connect_error "Invalid namespace"`, { timeout: 15_000 }, async () => {
        const socket = openSio(ctx.server, setup, pool, { nsp });
        const err = await socket.rec.waitConnectError(3000);
        assert.equal(err.message, "Invalid namespace");
        assert.equal(socket.rec.connects, 0);
      });
    }
  });
}
