import assert from "node:assert/strict";
import { HttpError } from "../errors/http_error.ts";
import { bodyHeadersOf, parsePayload } from "./payload.ts";

const post = (body: string, headers: Record<string, string>) =>
  new Request("http://x/p", { method: "POST", body, headers });

Deno.test("parsePayload() with headers the caller read: JSON, text, none", async () => {
  const json = post('{"a":1}', { "content-type": "application/json" });
  assert.deepEqual(await parsePayload(json, bodyHeadersOf(json)), { a: 1 });
  const text = post("hi", { "content-type": "text/plain" });
  assert.equal(
    await parsePayload(text, { contentLength: "2", contentType: "text/plain" }),
    "hi",
  );
  // A declared empty body is no body, whatever the request holds.
  const empty = post("", { "content-type": "application/json" });
  assert.equal(
    await parsePayload(empty, {
      contentLength: "0",
      contentType: "application/json",
    }),
    undefined,
  );
});

Deno.test("parsePayload() rejects bad JSON with a 400 naming the parse error", async () => {
  for (const contentType of ["application/json", "application/vnd.x+json"]) {
    const error = await parsePayload(post("{", { "content-type": contentType }))
      .then(() => null, (e) => e);
    assert.ok(error instanceof HttpError, contentType);
    assert.equal(error.status, 400);
    assert.match(error.message, /^Cannot parse JSON body: /);
  }
});
