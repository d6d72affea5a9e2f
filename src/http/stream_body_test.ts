import assert from "node:assert/strict";
import { sseFrame, StreamBody } from "./stream_body.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("sseFrame: text, JSON, fields, multi-line data, no field injection", () => {
  assert.equal(text(sseFrame("hi")), "data: hi\n\n");
  assert.equal(text(sseFrame({ n: 1 })), 'data: {"n":1}\n\n');
  assert.equal(text(sseFrame(null)), "data: null\n\n");
  assert.equal(
    text(sseFrame({ event: "e", id: 3, data: "a\r\nb", retry: 50 })),
    "event: e\nid: 3\nretry: 50\ndata: a\ndata: b\n\n",
  );
  // A newline in a field cannot start a new field.
  assert.equal(
    text(sseFrame({ event: "x\ndata: evil", data: 1 })),
    "event: xdata: evil\ndata: 1\n\n",
  );
  // Other keys: the whole object is the data.
  assert.equal(
    text(sseFrame({ event: "e", other: 1 })),
    'data: {"event":"e","other":1}\n\n',
  );
  assert.equal(text(sseFrame({ retry: "soon", event: "e" })), "event: e\n\n");
});

Deno.test("StreamBody: pulls at most one item ahead of the reader", async () => {
  let steps = 0;
  async function* gen() {
    while (true) {
      steps++;
      yield "x";
    }
  }
  const body = new StreamBody(gen());
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(steps <= 2, `${steps}`);
  const reader = body.stream.getReader();
  await reader.read();
  await reader.read();
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(steps <= 4, `${steps}`);
  await reader.cancel();
});

Deno.test("StreamBody: cancel calls return() and reports the end once", async () => {
  const ends: string[] = [];
  let finalized = false;
  async function* gen() {
    try {
      while (true) yield 1;
    } finally {
      finalized = true;
    }
  }
  const body = new StreamBody(gen(), {
    onStop: (how) => ends.push(`stop:${how}`),
    onEnd: (how) => ends.push(`end:${how}`),
  });
  const reader = body.stream.getReader();
  await reader.read();
  await reader.cancel();
  assert.equal(finalized, true);
  assert.deepEqual(ends, ["stop:cancel", "end:cancel"]);
  body.end();
  assert.deepEqual(ends, ["stop:cancel", "end:cancel"]);
});

Deno.test("StreamBody: end() closes cleanly; errors become an SSE error event", async () => {
  async function* forever() {
    while (true) {
      await new Promise((r) => setTimeout(r, 5));
      yield "t";
    }
  }
  const body = new StreamBody(forever(), { sse: true });
  setTimeout(() => body.end(), 30);
  const out = await new Response(body.stream).text();
  assert.match(out, /^(data: t\n\n)+$/);

  async function* failing() {
    yield "a";
    throw new Error("boom");
  }
  let how = "";
  const failed = new StreamBody(failing(), {
    sse: true,
    onEnd: (h) => how = h,
  });
  assert.equal(
    await new Response(failed.stream).text(),
    'data: a\n\nevent: error\ndata: {"error":"stream failed"}\n\n',
  );
  assert.equal(how, "error");
});

Deno.test("StreamBody: heartbeats while the source is idle", async () => {
  async function* slow() {
    await new Promise((r) => setTimeout(r, 60));
    yield "x";
  }
  const body = new StreamBody(slow(), { sse: true, heartbeatMs: 15 });
  const out = await new Response(body.stream).text();
  assert.match(out, /^(:\n\n){2,}data: x\n\n$/);
});
