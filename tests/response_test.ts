/**
 * The contract "Return value": how each kind of handler result is sent, that
 * streams are sent while produced, and that callbacks run after the response.
 * The cases run in-process through `loadHandler` (the replica core); one smoke
 * test streams over a real server's socket.
 *
 * The fixture's gates are module state and stay open once released: each
 * gate is released once per process (the smoke test's server is another).
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "./_server.ts";
import { type HandlerHarness, loadHandler } from "../mod.ts";

const PROJECT = fixture("responses");

/** Runs `fn` with the fixture's handler loaded in-process. */
async function withHandler(
  fn: (h: HandlerHarness) => Promise<void>,
): Promise<void> {
  const h = await loadHandler(PROJECT);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

Deno.test("responses: each return type has the documented status and content type", async (t) => {
  await withHandler(async (h) => {
    const cases: Array<[string, string, (res: Response) => Promise<void>]> = [
      [
        "object",
        "application/json",
        async (r) =>
          assert.deepEqual(await r.json(), { a: 1, nested: { b: [1, 2] } }),
      ],
      [
        "array",
        "application/json",
        async (r) => assert.deepEqual(await r.json(), [1, "two", null]),
      ],
      [
        "number",
        "application/json",
        async (r) => assert.equal(await r.text(), "42.5"),
      ],
      [
        "boolean",
        "application/json",
        async (r) => assert.equal(await r.text(), "false"),
      ],
      [
        "null",
        "application/json",
        async (r) => assert.equal(await r.text(), "null"),
      ],
      [
        "string",
        "text/plain; charset=utf-8",
        async (r) => assert.equal(await r.text(), "héllo"),
      ],
      [
        "bytes",
        "application/octet-stream",
        async (r) =>
          assert.deepEqual(
            new Uint8Array(await r.arrayBuffer()),
            new Uint8Array([0, 1, 2, 255]),
          ),
      ],
      [
        "buffer",
        "application/octet-stream",
        async (r) =>
          assert.deepEqual(
            new Uint8Array(await r.arrayBuffer()),
            new Uint8Array([9, 8, 7]),
          ),
      ],
    ];
    for (const [kind, type, check] of cases) {
      await t.step(`${kind} → 200 ${type}`, async () => {
        const res = await h.request(`/responses?kind=${kind}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), type);
        await check(res);
      });
    }

    await t.step(
      "a Response is sent as is (status, headers, body)",
      async () => {
        const res = await h.request("/responses?kind=response");
        assert.equal(res.status, 418);
        assert.equal(res.headers.get("content-type"), "text/html");
        assert.equal(res.headers.get("x-custom"), "yes");
        assert.ok(res.headers.get("x-request-id"));
        assert.equal(await res.text(), "<p>teapot</p>");
      },
    );
  });
});

/** Reads the next chunk, failing if it does not come within `ms`. */
async function nextChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms = 5000,
): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`No chunk within ${ms} ms`)), ms);
  });
  try {
    const { value, done } = await Promise.race([reader.read(), timeout]);
    return done ? "<done>" : new TextDecoder().decode(value);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the first chunk, releases the producer's gate, reads the rest. */
async function streamedBeforeEnd(
  kind: "stream" | "generator",
  send: (path: string) => Promise<Response>,
): Promise<void> {
  const res = await send(`/responses?kind=${kind}`);
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  try {
    // The producer is blocked until released: the first chunk must already be here.
    assert.equal(
      await nextChunk(reader),
      kind === "stream" ? "one\n" : "first\n",
    );
    const release = await send(`/responses?kind=release&gate=${kind}`);
    assert.deepEqual(await release.json(), { released: kind });
    assert.equal(
      await nextChunk(reader),
      kind === "stream" ? "two\n" : "second\n",
    );
    assert.equal(await nextChunk(reader), "<done>");
  } finally {
    await reader.cancel().catch(() => {});
  }
}

for (const kind of ["stream", "generator"] as const) {
  Deno.test(`responses: a ${kind} is streamed before it ends`, async () => {
    await withHandler((h) =>
      streamedBeforeEnd(kind, (path) => h.request(path))
    );
  });
}

Deno.test("responses: [result, callback] answers before the callback runs", async () => {
  await withHandler(async (h) => {
    const isDone = (l: Record<string, unknown>) =>
      l.message === "Callback finished";
    const res = await h.request("/responses?kind=callback", {
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { queued: true });
    const requestId = res.headers.get("x-request-id");
    // The callback is still waiting on its gate, so it cannot have logged.
    assert.equal(h.logs.filter(isDone).length, 0);
    await (await h.request("/responses?kind=release&gate=callback")).body
      ?.cancel();
    const line = await h.waitForLog(isDone);
    assert.equal(line.wrote, "done");
    assert.equal((line.labels as Record<string, unknown>).requestId, requestId);
  });
});

Deno.test("responses: a callback's error is logged, not sent", async () => {
  await withHandler(async (h) => {
    const res = await h.request("/responses?kind=callback-throws");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "sent anyway");
    const line = await h.waitForLog((l) =>
      String(l.exc_info ?? "").includes("callback exploded")
    );
    assert.equal(line.levelname, "ERROR");
    assert.equal(
      (line.labels as Record<string, unknown>).requestId,
      res.headers.get("x-request-id"),
    );
  });
});

Deno.test("responses: a generator streams over a real socket (smoke)", async () => {
  await withServer(PROJECT, {}, async ({ url }) => {
    const object = await fetch(`${url}/responses?kind=object`);
    assert.equal(object.headers.get("content-type"), "application/json");
    assert.deepEqual(await object.json(), { a: 1, nested: { b: [1, 2] } });
    await streamedBeforeEnd("generator", (path) => fetch(`${url}${path}`));
  });
});
