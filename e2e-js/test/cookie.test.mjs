// Node's `cookie` option: the server sets `io=<sid>` on the response that opens a polling
// session, and never on later requests nor, as Node, on a WebSocket opened directly (one
// connection needs no stickiness); without the option, no cookie at all. Load balancers use it
// to keep a polling client's requests on one server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { EIO_PATH, HOST, abortAllRequests, httpRequest, pollingHandshake, startServer, withTimeout } from "./harness.mjs";

/** The Set-Cookie headers of a WebSocket handshake's 101 answer, with the session it opened. */
async function websocketHandshake(server) {
  const ws = new WebSocket(`ws://${HOST}:${server.port}${EIO_PATH}?EIO=4&transport=websocket`);
  ws.on("error", () => {});
  const cookies = new Promise((resolve) => ws.once("upgrade", (res) => resolve(res.headers["set-cookie"])));
  const open = new Promise((resolve) => ws.once("message", (data) => resolve(JSON.parse(data.toString().slice(1)))));
  const result = { cookies: await withTimeout(cookies, 3000, "the upgrade"), open: await withTimeout(open, 3000, "the open packet") };
  ws.terminate();
  return result;
}

describe("the session cookie (COOKIE=1, Node's cookie: true)", () => {
  let server;
  before(async () => {
    server = await startServer({ env: { COOKIE: "1" } });
  });
  after(async () => {
    abortAllRequests();
    await server?.stop();
  });

  test("a polling handshake sets io=<sid> with Node's attributes, and later requests set none", async () => {
    const { sid, res } = await pollingHandshake(server);
    const cookies = res.headers["set-cookie"];
    assert.equal(cookies?.length, 1, `Set-Cookie: ${JSON.stringify(cookies)}`);
    const [pair, ...attributes] = cookies[0].split("; ");
    assert.equal(pair, `io=${sid}`);
    assert.deepEqual(attributes.sort(), ["HttpOnly", "Path=/", "SameSite=Lax"]);
    const poll = await httpRequest(server, { query: `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}` });
    assert.equal(poll.status, 200);
    assert.equal(poll.headers["set-cookie"], undefined, "a poll sets no cookie");
  });

  test("a WebSocket opened directly gets no cookie, as in Node", async () => {
    const { cookies, open } = await websocketHandshake(server);
    assert.ok(open.sid, "the WebSocket session opened");
    assert.equal(cookies, undefined, `Set-Cookie: ${JSON.stringify(cookies)}`);
  });
});

describe("without the option", () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    abortAllRequests();
    await server?.stop();
  });

  test("no handshake sets a cookie", async () => {
    const { res } = await pollingHandshake(server);
    assert.equal(res.headers["set-cookie"], undefined);
    const { cookies } = await websocketHandshake(server);
    assert.equal(cookies, undefined);
  });
});
