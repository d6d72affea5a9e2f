import assert from "node:assert/strict";
import {
  encodeResult,
  errorResponse,
  isStreamedResponse,
  markStreamed,
  RESULT_ENCODERS,
} from "./response.ts";

Deno.test("RESULT_ENCODERS: the first matching rule per value", () => {
  const table: Array<[string, unknown, string]> = [
    ["a Response", new Response("x"), "response"],
    ["a string", "héllo", "string"],
    ["a Uint8Array", new Uint8Array([1]), "bytes"],
    ["an ArrayBuffer", new ArrayBuffer(2), "bytes"],
    ["a ReadableStream", new ReadableStream(), "stream"],
    ["an async generator", (async function* () {})(), "async-iterable"],
    ["an object", { a: 1 }, "json"],
    ["a number", 42.5, "json"],
    ["null", null, "json"],
    ["undefined", undefined, "json"],
  ];
  for (const [name, value, want] of table) {
    assert.equal(RESULT_ENCODERS.find((e) => e.test(value))?.name, want, name);
  }
});

Deno.test("encodeResult(): status, content type, body and size per value", async () => {
  const json = "application/json";
  const text = "text/plain; charset=utf-8";
  const bytes = "application/octet-stream";
  const table: Array<[string, unknown, string, string, number | null]> = [
    [
      "object",
      { a: 1, nested: { b: [1, 2] } },
      json,
      '{"a":1,"nested":{"b":[1,2]}}',
      28,
    ],
    ["array", [1, "two", null], json, '[1,"two",null]', 14],
    ["number", 42.5, json, "42.5", 4],
    ["boolean", false, json, "false", 5],
    ["null", null, json, "null", 4],
    ["undefined (no return)", undefined, json, "null", 4],
    ["string (size in utf-8 bytes)", "héllo", text, "héllo", 6],
    ["bytes", new Uint8Array([104, 105]), bytes, "hi", 2],
    ["ArrayBuffer", new Uint8Array([104, 105]).buffer, bytes, "hi", 2],
  ];
  for (const [name, value, type, body, size] of table) {
    const out = encodeResult(value, "req-1");
    assert.equal(out.response.status, 200, name);
    assert.equal(out.response.headers.get("content-type"), type, name);
    assert.equal(out.response.headers.get("x-request-id"), "req-1", name);
    assert.equal(await out.response.text(), body, name);
    assert.equal(out.bytesOut, size, name);
    assert.equal(out.callback, null, name);
  }
});

Deno.test("encodeResult(): a Response is sent as is, its size unknown", async () => {
  const res = new Response("<p>teapot</p>", {
    status: 418,
    headers: { "content-type": "text/html" },
  });
  const out = encodeResult(res, "req-1");
  assert.equal(out.response, res);
  assert.equal(out.bytesOut, null);
  assert.equal(await out.response.text(), "<p>teapot</p>");
});

Deno.test("encodeResult(): [result, callback] splits; other pairs are JSON arrays", async () => {
  const callback = () => {};
  const split = encodeResult([{ queued: true }, callback], "r");
  assert.equal(split.callback, callback);
  assert.deepEqual(await split.response.json(), { queued: true });
  const pair = encodeResult([1, 2], "r");
  assert.equal(pair.callback, null);
  assert.deepEqual(await pair.response.json(), [1, 2]);
  const triple = encodeResult([1, () => {}, 3], "r");
  assert.equal(triple.callback, null);
  assert.equal(await triple.response.text(), "[1,null,3]");
});

Deno.test("encodeResult(): values JSON cannot encode throw naming their type", () => {
  const table: Array<[unknown, string]> = [
    [() => 1, "function"],
    [Symbol("s"), "symbol"],
  ];
  for (const [value, type] of table) {
    assert.throws(
      () => encodeResult(value, "r"),
      new RegExp(`result of type "${type}"`),
    );
  }
  assert.throws(() => encodeResult({ n: 1n }, "r"), TypeError);
});

Deno.test("encodeResult(): streams and async iterables become streamed bodies", async () => {
  async function* gen() {
    yield "a";
    yield new Uint8Array([98]);
  }
  const plain = encodeResult(gen(), "r");
  assert.equal(
    plain.response.headers.get("content-type"),
    "application/octet-stream",
  );
  assert.equal(await plain.response.text(), "ab");

  const tracked = encodeResult(gen(), "r", {});
  assert.ok(tracked.stream, "a tracked stream");
  assert.ok(isStreamedResponse(tracked.response));
  assert.equal(await tracked.response.text(), "ab");

  const sse = encodeResult(gen(), "r", { sse: true });
  assert.equal(
    sse.response.headers.get("content-type"),
    "text/event-stream; charset=utf-8",
  );
  assert.equal(sse.response.headers.get("cache-control"), "no-cache");
  await sse.response.body?.cancel();

  const bytes = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array([120]));
      c.close();
    },
  });
  const raw = encodeResult(bytes, "r", { sse: true });
  assert.equal(
    raw.response.headers.get("content-type"),
    "application/octet-stream",
    "a ReadableStream is never SSE",
  );
  assert.equal(await raw.response.text(), "x");
});

Deno.test("isStreamedResponse(): marked, handler-made or event-stream responses with a body", () => {
  const table: Array<[string, Response, boolean]> = [
    ["plain", new Response("x"), false],
    ["marked", markStreamed(new Response("x")), true],
    ["marked without a body", markStreamed(new Response(null)), false],
    [
      "event stream",
      new Response("data: x\n\n", {
        headers: { "content-type": "text/event-stream; charset=utf-8" },
      }),
      true,
    ],
  ];
  for (const [name, res, want] of table) {
    assert.equal(isStreamedResponse(res), want, name);
  }
});

Deno.test("errorResponse(): JSON {error, ...extra} with its length and headers", async () => {
  const res = errorResponse(413, "Too large: é", { request_id: "r" }, {
    "retry-after": "1",
  });
  const body = await res.text();
  assert.equal(res.status, 413);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("retry-after"), "1");
  assert.equal(
    res.headers.get("content-length"),
    String(new TextEncoder().encode(body).length),
  );
  assert.equal(res.headers.get("x-request-id"), null);
  assert.deepEqual(JSON.parse(body), {
    error: "Too large: é",
    request_id: "r",
  });
});
