// Engine.io v3 clients (Node's allowEIO3): socket.io-client 2.5 against sio-conformance with
// ALLOW_EIO3=1 over every transport setup, the v3 wire checked byte by byte, and a server
// without the option refusing such a client at once. Checked against Node's socket.io too
// (SIO_SERVER=node), which is where every expected value below comes from.
import assert from "node:assert/strict";
import { after, afterEach, before, describe } from "node:test";
import ioV2 from "socket.io-client-v2";
import { io } from "socket.io-client";
import { httpRequest, sioServerKind, startServer, withTimeout } from "./harness.mjs";
import { SIO_PATH, emitAck, useSioServer } from "./sio-harness.mjs";

const WAIT = 5000;
const ctx = useSioServer("sio-conformance", { env: { ALLOW_EIO3: "1" } });
const { test } = ctx;
const opened = [];

/** The 2.x setups: as the 2.x client names its transports. */
const SETUPS = [
  { name: "websocket only", transports: ["websocket"] },
  { name: "polling only", transports: ["polling"] },
  { name: "polling then upgrade", transports: ["polling", "websocket"], upgrade: true },
];

/** Resolves with the first of `events` that `socket` emits, as [event, ...args]. */
function first(socket, events, what) {
  return withTimeout(
    new Promise((resolve) => {
      for (const event of events) socket.once(event, (...args) => resolve([event, ...args]));
    }),
    WAIT,
    what,
  );
}

/** A 2.5 client to `nsp` (with its query), connected, its `auth` event received. */
async function connectV2(setup, nsp = "", extra = {}) {
  const socket = ioV2(`${ctx.server.url}${nsp}`, {
    path: SIO_PATH,
    transports: setup.transports,
    forceNew: true,
    reconnection: false,
    ...extra,
  });
  opened.push(socket);
  const auth = first(socket, ["auth"], "the auth event");
  const [event, detail] = await first(socket, ["connect", "error", "connect_error"], `connect (${setup.name})`);
  assert.equal(event, "connect", `${event}: ${JSON.stringify(detail)}`);
  if (setup.upgrade && socket.io.engine.transport.name !== "websocket") {
    await withTimeout(new Promise((resolve) => socket.io.engine.once("upgrade", resolve)), WAIT, "the upgrade");
  }
  socket.authPayload = (await auth)[1];
  return socket;
}

/**
 * Has the server ask every socket of "/" ("broadcast-with-ack": io.timeout(1000).emit("ask",
 * value, ...)) with `client` answering answer(value); resolves with the server's ack,
 * {error, answers}. The sockets of earlier tests must be gone first, or their silence would
 * time the question out.
 */
async function askAll(client, answer) {
  await onlySocket(client);
  client.on("ask", (value, ack) => ack(answer(value)));
  return withTimeout(
    new Promise((resolve) => client.emit("broadcast-with-ack", "question", resolve)),
    WAIT,
    "the answers of broadcast-with-ack",
  );
}

/** Waits (bounded) until `socket` is the only socket in "/" (asked with the "stats" ack). */
async function onlySocket(socket) {
  const deadline = Date.now() + 3000;
  let stats;
  do {
    stats = await withTimeout(new Promise((resolve) => socket.emit("stats", resolve)), WAIT, "stats");
    if (stats.sockets === 1) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  } while (Date.now() < deadline);
  assert.fail(`sockets of earlier tests are still in "/": ${JSON.stringify(stats)}`);
}

// Every client of a test is closed after it, passed or failed, so that none is left in "/" for
// the next test's broadcast-with-ack to wait on.
afterEach(() => {
  for (const socket of opened.splice(0)) socket.close();
});

const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);

for (const setup of SETUPS) {
  describe(`socket.io-client 2.5 over ${setup.name}`, () => {
    test("connects to / with the engine's id, and events, acks and binary go both ways", async () => {
      const client = await connectV2(setup);
      assert.equal(client.id, client.io.engine.id, "a v3 socket's id in / is the engine's");
      assert.deepEqual(client.authPayload, {});
      const back = first(client, ["message-back"], "message-back");
      const plain = { a: 1, b: [true, null, "x"], c: { d: -0.5 } };
      client.emit("message", "text", 42, plain, { deep: [bytes] });
      const [, text, number, object, withBinary] = await back;
      assert.deepEqual([text, number, object], ["text", 42, plain]);
      assert.deepEqual(Buffer.from(withBinary.deep[0]), bytes);
      const answer = await withTimeout(
        new Promise((resolve) => client.emit("message-with-ack", "a", bytes, (...args) => resolve(args))),
        WAIT,
        "the ack",
      );
      assert.equal(answer[0], "a");
      assert.deepEqual(Buffer.from(answer[1]), bytes);
    });

    test("the server's emit with an ack is answered by the 2.5 client", async () => {
      const reply = await askAll(await connectV2(setup), (value) => ({ value }));
      assert.deepEqual(reply, { error: null, answers: [{ value: "question" }] });
    });

    test("a binary answer to the server's ack comes back intact in the server's own ack", async () => {
      // The server gets the client's ack with an attachment, then sends it back inside its
      // own ack ({error, answers}): both directions of a binary ack over this transport.
      const reply = await askAll(await connectV2(setup), (value) => ({ value, bytes }));
      assert.equal(reply.error, null, JSON.stringify(reply));
      const answer = reply.answers[0].bytes;
      assert.ok(
        Buffer.isBuffer(answer) || answer instanceof ArrayBuffer,
        `the answer's bytes came back as ${JSON.stringify(answer)}, not as binary`,
      );
      assert.deepEqual(Buffer.from(answer), bytes);
    });

    test("a namespace's query is its auth, and its id is /nsp#<engine id>", async () => {
      const custom = await connectV2(setup, "/custom?token=abc");
      assert.deepEqual(custom.authPayload, { token: "abc" });
      assert.equal(custom.id, `/custom#${custom.io.engine.id}`);
      const unknown = ioV2(`${ctx.server.url}/nope`, { path: SIO_PATH, transports: setup.transports, forceNew: true, reconnection: false });
      opened.push(unknown);
      const [event, detail] = await first(unknown, ["error", "connect"], "the unknown namespace's answer");
      assert.equal(event, "error");
      assert.deepEqual(detail, { message: "Invalid namespace" });
    });

    test("the client's pings keep it connected over several intervals", async () => {
      const client = await connectV2(setup);
      const disconnects = [];
      client.on("disconnect", (reason) => disconnects.push(reason));
      // 300 ms interval, 200 ms timeout: over six intervals, the server ends a v3 session
      // whose ping does not arrive within interval + timeout, so each one had to.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.deepEqual(disconnects, []);
      const back = first(client, ["message-back"], "message-back after the wait");
      client.emit("message", "still here");
      assert.deepEqual((await back).slice(1), ["still here"]);
    });

    test("a broadcast reaches v3 and v4 clients alike, from either", async () => {
      const old = await connectV2(setup);
      const current = io(ctx.server.url, { path: SIO_PATH, forceNew: true, reconnection: false });
      opened.push(current);
      await withTimeout(new Promise((resolve) => current.once("auth", resolve)), WAIT, "the v4 client");
      const toOld = first(old, ["broadcast"], "the v4 client's broadcast");
      await emitAck(current, WAIT, "broadcast", "from v4", bytes);
      const [, word, data] = await toOld;
      assert.equal(word, "from v4");
      assert.deepEqual(Buffer.from(data), bytes);
      const toCurrent = withTimeout(new Promise((resolve) => current.once("broadcast", (...a) => resolve(a))), WAIT, "the v3 broadcast");
      old.emit("broadcast", "from v3");
      assert.deepEqual(await toCurrent, ["from v3"]);
    });
  });
}

describe("the v3 wire", () => {
  // Its own server, with heartbeats slow enough for requests made by hand: a v3 session that
  // does not ping within interval + timeout is over.
  let wire;
  before(async () => {
    if (ctx.skip) return; // its tests are skipped too (no binary)
    wire = await startServer({
      kind: "sio-conformance",
      env: { ALLOW_EIO3: "1", PING_INTERVAL_MS: "5000", PING_TIMEOUT_MS: "5000" },
    });
  });
  after(async () => {
    await wire?.stop();
  });
  const poll = (query, extra = {}) => httpRequest(wire, { path: SIO_PATH, query, ...extra });

  /** Splits a v3 text payload into its packets, checking each length (in UTF-16 units). */
  function packets(text) {
    const out = [];
    let rest = text;
    while (rest.length > 0) {
      const colon = rest.indexOf(":");
      assert.ok(colon > 0, `a length in ${JSON.stringify(rest)}`);
      const length = Number(rest.slice(0, colon));
      out.push(rest.slice(colon + 1, colon + 1 + length));
      rest = rest.slice(colon + 1 + length);
    }
    return out;
  }

  /**
   * Polls session `sid` until the text received (starting with `text`) holds `marker`, at most
   * three polls; resolves with all of it. Node flushes a packet as soon as it is written, so its
   * handshake answer holds the open packet alone and "40" comes on the next poll (the namespace
   * joins a tick later); a server may as well batch them. The packets, their order and their
   * length prefixes are the same either way, so the tests compare the concatenated answers.
   */
  async function pollUntil(sid, query, text, marker) {
    for (let i = 0; i < 3 && !text.includes(marker); i++) {
      const got = await poll(`EIO=3&transport=polling&sid=${sid}${query}`);
      assert.equal(got.status, 200, got.body);
      assert.match(got.headers["content-type"], /^text\/plain/);
      text += got.body;
    }
    return text;
  }

  /** POSTs a v3 text payload of `packets`; Node answers 200 "ok" (text/html). */
  async function postText(sid, query, ...items) {
    const post = await poll(`EIO=3&transport=polling&sid=${sid}${query}`, {
      method: "POST",
      body: items.map((p) => `${p.length}:${p}`).join(""),
    });
    assert.equal(post.status, 200, post.body);
    assert.equal(post.body, "ok");
  }

  /** A v3 polling session in / whose connection handler has run (its "auth" received): its sid. */
  async function session(query = "") {
    const open = await poll(`EIO=3&transport=polling${query}`);
    assert.equal(open.status, 200);
    assert.match(open.headers["content-type"], /^text\/plain/);
    const sid = /^\d+:0\{"sid":"([^"]+)"/.exec(open.body)?.[1];
    assert.ok(sid, `the open packet comes first: ${JSON.stringify(open.body)}`);
    // The v3 handshake (maxPayload included, as Node 6.6 sends it to v3 clients too), then
    // the bare CONNECT of "/" (v3 clients are joined to "/" without asking) and "auth".
    const handshake = `0{"sid":"${sid}","upgrades":["websocket"],"pingInterval":5000,"pingTimeout":5000,"maxPayload":1000000}`;
    const text = await pollUntil(sid, query, open.body, '42["auth"');
    assert.equal(text, `${handshake.length}:${handshake}2:4013:42["auth",{}]`);
    assert.equal(packets(text).length, 3);
    return sid;
  }

  test("a namespace's CONNECT carries its query as auth; an unknown one gets CONNECT_ERROR", async () => {
    const sid = await session();
    await postText(sid, "", "40/custom?token=abc,");
    assert.equal(await pollUntil(sid, "", "", '42/custom,["auth"'), '10:40/custom,34:42/custom,["auth",{"token":"abc"}]');
    await postText(sid, "", "40/nope,");
    assert.equal(await pollUntil(sid, "", "", "44/nope"), '39:44/nope,{"message":"Invalid namespace"}');
  });

  test("text payloads are length-prefixed in UTF-16 units, both ways", async () => {
    const sid = await session();
    // postText prefixes JS string lengths (UTF-16 units); the answer is 24 units long, where
    // counting code points would say 23 and UTF-8 bytes 27.
    await postText(sid, "", '42["message","é😀"]');
    assert.equal(await pollUntil(sid, "", "", "message-back"), '24:42["message-back","é😀"]');
  });

  test("binary comes back as a binary payload, or as b4 base64 with b64=1", async () => {
    const sid = await session();
    const post = (q, body, type) =>
      poll(`EIO=3&transport=polling&sid=${sid}${q}`, { method: "POST", body, headers: type ? { "content-type": type } : {} });
    // A binary event, sent as a binary payload: the packet as text, then its attachment.
    const header = '451-["message",{"_placeholder":true,"num":0}]';
    const payload = Buffer.concat([
      Buffer.from([0, ...String(header.length).split("").map(Number), 255]),
      Buffer.from(header),
      Buffer.from([1, ...String(bytes.length + 1).split("").map(Number), 255, 4]),
      bytes,
    ]);
    const posted = await post("", payload, "application/octet-stream");
    assert.deepEqual([posted.status, posted.body], [200, "ok"]);
    // Nothing else is queued (auth was read, v3 servers send no pings): the whole answer is the
    // two packets, each as <0 text | 1 binary> <length, one byte per decimal digit> 255 <data>,
    // the attachment as engine.io message type 4 then its bytes.
    const got = await poll(`EIO=3&transport=polling&sid=${sid}`);
    assert.equal(got.headers["content-type"], "application/octet-stream");
    const back = '451-["message-back",{"_placeholder":true,"num":0}]'; // 50 characters
    const expected = Buffer.concat([
      Buffer.from([0, 5, 0, 255]),
      Buffer.from(back),
      Buffer.from([1, 7, 255, 4]),
      bytes,
    ]);
    assert.equal(got.bytes.toString("hex"), expected.toString("hex"));

    const sid64 = await session("&b64=1");
    const text = `${header.length}:${header}${2 + Math.ceil(bytes.length / 3) * 4}:b4${bytes.toString("base64")}`;
    assert.equal((await poll(`EIO=3&transport=polling&sid=${sid64}&b64=1`, { method: "POST", body: text })).status, 200);
    // the attachment as text: "b" then the engine.io type 4 then base64 ("b4AAEC/f7/", 10)
    assert.equal(await pollUntil(sid64, "&b64=1", "", "message-back"), `50:${back}10:b4AAEC/f7/`);
  });

  test("the client's ping is answered with a pong; a pong from the client ends the session", async () => {
    const sid = await session();
    assert.equal((await poll(`EIO=3&transport=polling&sid=${sid}`, { method: "POST", body: "1:2" })).status, 200);
    assert.deepEqual(packets((await poll(`EIO=3&transport=polling&sid=${sid}`)).body), ["3"]);
    assert.equal((await poll(`EIO=3&transport=polling&sid=${sid}`, { method: "POST", body: "1:3" })).status, 200);
    const after = await poll(`EIO=3&transport=polling&sid=${sid}`);
    assert.equal(after.status, 400, "the session is over");
  });

  // Node queues a pong per ping: a client that POSTs pings and never GETs grows its queue
  // by 3 bytes per ping (a third of a million per POST at the default maxHttpBufferSize),
  // without bound.
  const nodeQueuesEach = sioServerKind === "node" ? "Node queues a pong for each ping" : false;
  test("a POST of 100,000 pings queues one pong, and the session goes on", { skip: nodeQueuesEach }, async () => {
    const sid = await session();
    for (let round = 0; round < 3; round++) {
      const posted = await poll(`EIO=3&transport=polling&sid=${sid}`, { method: "POST", body: "1:2".repeat(100_000) });
      assert.equal(posted.status, 200, posted.body);
    }
    assert.deepEqual(packets((await poll(`EIO=3&transport=polling&sid=${sid}`)).body), ["3"]);
    await postText(sid, "", '42["message","still here"]');
    assert.equal(await pollUntil(sid, "", "", "message-back"), '31:42["message-back","still here"]');
  });
});

describe("a server without ALLOW_EIO3", () => {
  let plain;
  before(async () => {
    if (ctx.skip) return; // its tests are skipped too (no binary)
    plain = await startServer({ kind: "sio-conformance" });
  });
  after(async () => {
    await plain?.stop();
  });

  test("refuses a v3 handshake with code 5, and the 2.5 client hears it at once", async () => {
    const refused = await httpRequest(plain, { path: SIO_PATH, query: "EIO=3&transport=polling" });
    assert.equal(refused.status, 400);
    assert.deepEqual(JSON.parse(refused.body), { code: 5, message: "Unsupported protocol version" });
    assert.match(refused.headers["content-type"], /^application\/json/);
    // The 2.5 client reports a transport error at once (Node: within a few ms), not after its
    // 20 s connect timeout. Over polling it sees the 400 ("xhr poll error", description 400);
    // over websocket Node answers the upgrade with 101 and then writes the HTTP 400 into the
    // stream, which the client reads as a broken frame: only "websocket error" is common.
    for (const [transports, message] of [
      [["polling"], "xhr poll error"],
      [["websocket"], "websocket error"],
    ]) {
      const client = ioV2(plain.url, { path: SIO_PATH, transports, forceNew: true, reconnection: false });
      const start = Date.now();
      try {
        const [event, error] = await first(client, ["connect_error", "error", "connect"], `the refusal over ${transports[0]}`);
        assert.equal(event, "connect_error", `${event}: ${error}`);
        assert.equal(error.message, message);
        assert.equal(error.type, "TransportError");
        assert.ok(Date.now() - start < 2000, `the refusal took ${Date.now() - start} ms`);
      } finally {
        client.close();
      }
    }
  });
});
