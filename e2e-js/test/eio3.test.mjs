// Engine.io v3 clients (Node's allowEIO3): socket.io-client 2.5 against sio-conformance with
// ALLOW_EIO3=1 over every transport setup, the v3 wire checked byte by byte, and a server
// without the option refusing such a client at once. Checked against Node's socket.io too
// (SIO_SERVER=node), which is where every expected value below comes from.
import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import ioV2 from "socket.io-client-v2";
import { io } from "socket.io-client";
import { httpRequest, startServer, withTimeout } from "./harness.mjs";
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

function closeAll() {
  for (const socket of opened.splice(0)) socket.close();
}

const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);

for (const setup of SETUPS) {
  describe(`socket.io-client 2.5 over ${setup.name}`, () => {
    test("connects to / with the engine's id, and events, acks and binary go both ways", async () => {
      const client = await connectV2(setup);
      assert.equal(client.id, client.io.engine.id, "a v3 socket's id in / is the engine's");
      assert.deepEqual(client.authPayload, {});
      const back = first(client, ["message-back"], "message-back");
      client.emit("message", "text", 42, { deep: [bytes] });
      const [, text, number, object] = await back;
      assert.deepEqual([text, number], ["text", 42]);
      assert.deepEqual(Buffer.from(object.deep[0]), bytes);
      const answer = await withTimeout(
        new Promise((resolve) => client.emit("message-with-ack", "a", bytes, (...args) => resolve(args))),
        WAIT,
        "the ack",
      );
      assert.equal(answer[0], "a");
      assert.deepEqual(Buffer.from(answer[1]), bytes);
      closeAll();
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
      closeAll();
    });

    test("the client's pings keep it connected over several intervals", async () => {
      const client = await connectV2(setup);
      const disconnects = [];
      client.on("disconnect", (reason) => disconnects.push(reason));
      // 300 ms interval, 200 ms timeout: five intervals, each one answered or the session ends.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.deepEqual(disconnects, []);
      const back = first(client, ["message-back"], "message-back after the wait");
      client.emit("message", "still here");
      assert.deepEqual((await back).slice(1), ["still here"]);
      closeAll();
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
      closeAll();
    });
  });
}

describe("the v3 wire", () => {
  // Its own server, with heartbeats slow enough for requests made by hand: a v3 session that
  // does not ping within interval + timeout is over.
  let wire;
  before(async () => {
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

  /** A v3 polling session in / whose connection handler has run (its "auth" received): its sid. */
  async function session(query = "") {
    const open = await poll(`EIO=3&transport=polling${query}`);
    assert.equal(open.status, 200);
    const received = packets(open.body);
    assert.match(received[0], /^0\{/, "the open packet comes first");
    const handshake = JSON.parse(received[0].slice(1));
    assert.deepEqual(Object.keys(handshake), ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]);
    assert.deepEqual(handshake.upgrades, ["websocket"]);
    // Node answers the handshake with the open packet alone and the CONNECT reply ("40", bare)
    // on a later poll; ours may have it ready in the first answer. Either way it comes before
    // anything else of the namespace, and the connection handler's "auth" follows.
    const rest = received.slice(1);
    for (let i = 0; i < 3 && !rest.some((p) => p.startsWith('42["auth"')); i++) {
      rest.push(...packets((await poll(`EIO=3&transport=polling&sid=${handshake.sid}${query}`)).body));
    }
    assert.deepEqual(rest, ["40", '42["auth",{}]']);
    return handshake.sid;
  }

  async function messageBack(sid, query, args) {
    const body = `42${JSON.stringify(["message", ...args])}`;
    const post = await poll(`EIO=3&transport=polling&sid=${sid}${query}`, { method: "POST", body: `${body.length}:${body}` });
    assert.equal(post.status, 200);
    for (let i = 0; i < 3; i++) {
      const got = await poll(`EIO=3&transport=polling&sid=${sid}${query}`);
      if (got.body.includes("message-back")) return got;
    }
    assert.fail("no message-back");
  }

  test("text payloads are length-prefixed in UTF-16 units, both ways", async () => {
    const sid = await session();
    const got = await messageBack(sid, "", ["é😀"]);
    assert.match(got.headers["content-type"], /^text\/plain/);
    const answer = packets(got.body).find((p) => p.includes("message-back"));
    assert.equal(answer, '42["message-back","é😀"]');
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
    assert.equal((await post("", payload, "application/octet-stream")).status, 200);
    let got;
    for (let i = 0; i < 3 && !got?.bytes.includes(Buffer.from("message-back")); i++) got = await poll(`EIO=3&transport=polling&sid=${sid}`);
    assert.equal(got.headers["content-type"], "application/octet-stream");
    const expected = Buffer.concat([
      Buffer.from([0, ...String('451-["message-back",{"_placeholder":true,"num":0}]'.length).split("").map(Number), 255]),
      Buffer.from('451-["message-back",{"_placeholder":true,"num":0}]'),
      Buffer.from([1, ...String(bytes.length + 1).split("").map(Number), 255, 4]),
      bytes,
    ]);
    assert.ok(got.bytes.subarray(got.bytes.length - expected.length).equals(expected), got.bytes.toString("hex"));

    const sid64 = await session("&b64=1");
    const text = `${header.length}:${header}${2 + Math.ceil(bytes.length / 3) * 4}:b4${bytes.toString("base64")}`;
    assert.equal((await poll(`EIO=3&transport=polling&sid=${sid64}&b64=1`, { method: "POST", body: text })).status, 200);
    let got64;
    for (let i = 0; i < 3 && !got64?.body.includes("message-back"); i++) got64 = await poll(`EIO=3&transport=polling&sid=${sid64}&b64=1`);
    assert.match(got64.headers["content-type"], /^text\/plain/);
    const received = packets(got64.body);
    assert.deepEqual(received.slice(-2), ['451-["message-back",{"_placeholder":true,"num":0}]', `b4${bytes.toString("base64")}`]);
  });

  test("the client's ping is answered with a pong; a pong from the client ends the session", async () => {
    const sid = await session();
    assert.equal((await poll(`EIO=3&transport=polling&sid=${sid}`, { method: "POST", body: "1:2" })).status, 200);
    assert.deepEqual(packets((await poll(`EIO=3&transport=polling&sid=${sid}`)).body), ["3"]);
    assert.equal((await poll(`EIO=3&transport=polling&sid=${sid}`, { method: "POST", body: "1:3" })).status, 200);
    const after = await poll(`EIO=3&transport=polling&sid=${sid}`);
    assert.equal(after.status, 400, "the session is over");
  });
});

describe("a server without ALLOW_EIO3", () => {
  let plain;
  before(async () => {
    plain = await startServer({ kind: "sio-conformance" });
  });
  after(async () => {
    await plain?.stop();
  });

  test("refuses a v3 handshake with code 5, and the 2.5 client hears it at once", async () => {
    const refused = await httpRequest(plain, { path: SIO_PATH, query: "EIO=3&transport=polling" });
    assert.equal(refused.status, 400);
    assert.deepEqual(JSON.parse(refused.body), { code: 5, message: "Unsupported protocol version" });
    for (const transports of [["polling"], ["websocket"]]) {
      const client = ioV2(plain.url, { path: SIO_PATH, transports, forceNew: true, reconnection: false });
      try {
        const [event] = await first(client, ["connect_error", "error", "connect"], `the refusal over ${transports[0]}`);
        assert.notEqual(event, "connect");
      } finally {
        client.close();
      }
    }
  });
});
