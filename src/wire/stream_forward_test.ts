import assert from "node:assert/strict";
import { CHUNK_BYTES } from "./channel_limits.ts";
import { bytesStream, ForwardedStream } from "./stream_forward.ts";

Deno.test("stream forward: a large piece of a body goes in slices of CHUNK_BYTES, one a credit", async () => {
  const body = new Uint8Array(CHUNK_BYTES * 2 + 10).map((_, i) => i % 251);
  const chunks: Uint8Array[] = [];
  let ended: boolean | null = null;
  const stream = new ForwardedStream(bytesStream(body), {
    chunk: (c) => chunks.push(c),
    end: (error) => ended = error,
  }, new AbortController().signal);
  const pumped = stream.pump();
  stream.credit(2);
  await new Promise((r) => setTimeout(r, 10));
  // Two credits, two slices: the rest waits for the receiver.
  assert.deepEqual(chunks.map((c) => c.length), [CHUNK_BYTES, CHUNK_BYTES]);
  assert.equal(ended, null);
  stream.credit(4);
  await pumped;
  assert.deepEqual(chunks.map((c) => c.length), [CHUNK_BYTES, CHUNK_BYTES, 10]);
  assert.equal(ended, false);
  const joined = new Uint8Array(body.length);
  let at = 0;
  for (const c of chunks) {
    joined.set(c, at);
    at += c.length;
  }
  assert.deepEqual(joined, body);
});
