import assert from "node:assert/strict";
import {
  fromGrpcWebText,
  isGrpcWebText,
  toGrpcWebText,
} from "./grpc_web_text.ts";

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i * 7);

Deno.test("fromGrpcWebText() decodes one or several padded base64 chunks", async () => {
  const a = bytes(5);
  const b = bytes(4);
  const text = btoa(String.fromCharCode(...a)) + "\n" +
    btoa(String.fromCharCode(...b));
  const req = new Request("http://x/s.S/M", {
    method: "POST",
    headers: { "content-type": "application/grpc-web-text" },
    body: text,
  });
  assert.ok(isGrpcWebText(req));
  const binary = await fromGrpcWebText(req);
  assert.equal(
    binary.headers.get("content-type"),
    "application/grpc-web+proto",
  );
  assert.deepEqual(
    [...new Uint8Array(await binary.arrayBuffer())],
    [...a, ...b],
  );
});

Deno.test("fromGrpcWebText() names a body that is not base64", async () => {
  const req = new Request("http://x/s.S/M", {
    method: "POST",
    headers: { "content-type": "application/grpc-web-text+proto" },
    body: "not*base64!",
  });
  await assert.rejects(() => fromGrpcWebText(req), /is not base64/);
});

Deno.test("toGrpcWebText() encodes chunks of any size into one base64 text", async () => {
  const data = bytes(10);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const [from, to] of [[0, 1], [1, 5], [5, 10]]) {
        c.enqueue(data.slice(from, to));
      }
      c.close();
    },
  });
  const res = toGrpcWebText(
    new Response(body, {
      headers: { "content-type": "application/grpc-web+proto" },
    }),
  );
  assert.equal(
    res.headers.get("content-type"),
    "application/grpc-web-text+proto",
  );
  const text = await res.text();
  assert.equal(text, btoa(String.fromCharCode(...data)));
  const other = new Response("{}", {
    status: 404,
    headers: { "content-type": "application/json" },
  });
  assert.equal(toGrpcWebText(other), other);
});
