// Node's httpCompression, on by default: a polling answer of 1024 bytes or more goes gzip- or
// deflate-encoded when the request accepts one (gzip first), a smaller one or one to a client
// that accepts neither goes as it is. The echo server sends each message back, so a message
// POSTed comes back on the next GET.
import assert from "node:assert/strict";
import { gunzipSync, inflateSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { abortAllRequests, httpRequest, pollingHandshake, startServer } from "./harness.mjs";

describe("polling answers compressed (httpCompression)", () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    abortAllRequests();
    await server?.stop();
  });

  /** A session whose next GET answers `4<text>`, asked with `acceptEncoding`. */
  async function echoed(text, acceptEncoding) {
    const { sid } = await pollingHandshake(server);
    const query = `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
    const posted = await httpRequest(server, { method: "POST", query, body: `4${text}` });
    assert.equal(posted.status, 200);
    const headers = acceptEncoding === undefined ? {} : { "accept-encoding": acceptEncoding };
    return httpRequest(server, { query, headers });
  }

  const big = "hello, compression ".repeat(100); // 1,900 bytes

  test("gzip when accepted, and the payload decodes to what was sent", async () => {
    const res = await echoed(big, "gzip, deflate, br");
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-encoding"], "gzip");
    assert.ok(res.bytes.length < big.length / 4, `${res.bytes.length} bytes on the wire`);
    assert.equal(gunzipSync(res.bytes).toString("utf8"), `4${big}`);
  });

  test("deflate when only deflate is accepted", async () => {
    const res = await echoed(big, "deflate");
    assert.equal(res.headers["content-encoding"], "deflate");
    // HTTP's deflate is the zlib format, as Node's zlib.createDeflate writes it.
    assert.equal(inflateSync(res.bytes).toString("utf8"), `4${big}`);
  });

  test("as it is below the threshold, or when nothing is accepted", async () => {
    const small = await echoed("x".repeat(500), "gzip");
    assert.equal(small.headers["content-encoding"], undefined);
    assert.equal(small.body, `4${"x".repeat(500)}`);
    const plain = await echoed(big, undefined);
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.equal(plain.body, `4${big}`);
    const refused = await echoed(big, "gzip;q=0, br");
    assert.equal(refused.headers["content-encoding"], undefined);
    assert.equal(refused.body, `4${big}`);
  });
});
