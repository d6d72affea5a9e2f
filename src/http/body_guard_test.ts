import assert from "node:assert/strict";
import { guardBody, withoutBody } from "./body_guard.ts";

const limits = { maxBytes: 10, timeoutMs: 200, api: "small" };

function stream(chunks: Uint8Array[], gapMs = 0): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(c) {
      for (const chunk of chunks) {
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
        c.enqueue(chunk);
      }
      c.close();
    },
  });
}

/** Reads the body the way forwarding does, then asks for the verdict. */
async function forward(req: Request): Promise<Response> {
  const guarded = guardBody(req, limits);
  if (guarded instanceof Response) return guarded;
  let res: Response;
  try {
    const bytes = await guarded.request.arrayBuffer();
    res = new Response(String(bytes.byteLength));
  } catch {
    res = new Response("read failed", { status: 400 });
  }
  return guarded.verdict(res);
}

Deno.test("guardBody: a declared length over the limit is refused unread", () => {
  let pulled = false;
  const body = new ReadableStream({
    pull() {
      pulled = true;
    },
  });
  const req = new Request("http://x/small", {
    method: "POST",
    headers: { "content-length": "11" },
    body,
  });
  const res = guardBody(req, limits);
  assert.ok(res instanceof Response);
  assert.equal(res.status, 413);
  assert.equal(res.headers.get("connection"), "close");
  assert.equal(pulled, false);
});

Deno.test("guardBody: a streamed body over the limit gets 413", async () => {
  const req = new Request("http://x/small", {
    method: "POST",
    body: stream([new Uint8Array(6), new Uint8Array(6)]),
  });
  assert.equal((await forward(req)).status, 413);
});

Deno.test("guardBody: a body within the limit passes whole", async () => {
  const req = new Request("http://x/small", {
    method: "POST",
    body: stream([new Uint8Array(4), new Uint8Array(6)]),
  });
  const res = await forward(req);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "10");
});

Deno.test("guardBody: a body slower than the timeout gets 408", async () => {
  const req = new Request("http://x/small", {
    method: "POST",
    body: stream([new Uint8Array(1), new Uint8Array(1)], 150),
  });
  const res = await forward(req);
  assert.equal(res.status, 408);
});

Deno.test("guardBody: no body, nothing to guard", () => {
  const req = new Request("http://x/small");
  const guarded = guardBody(req, limits);
  assert.ok(!(guarded instanceof Response));
  assert.equal(guarded.request, req);
  const ok = new Response("ok");
  assert.equal(guarded.verdict(ok), ok);
});

Deno.test("withoutBody: /healthz refuses a large declared body, drops any other", () => {
  const big = withoutBody(
    new Request("http://x/healthz", {
      method: "POST",
      headers: { "content-length": "5000" },
      body: new Uint8Array(5000),
    }),
  );
  assert.ok(big instanceof Response);
  assert.equal(big.status, 413);
  const small = withoutBody(
    new Request("http://x/healthz", { method: "POST", body: stream([]) }),
  );
  assert.ok(small instanceof Request);
  assert.equal(small.body, null);
  const plain = new Request("http://x/healthz");
  assert.equal(withoutBody(plain), plain);
});
