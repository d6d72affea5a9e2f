/**
 * The contract "Errors and bad input (HTTP)": 404, 405, 500, HttpError, 413,
 * 504, 503, and the x-request-id on every response. The cases run in-process
 * through `loadHandler` (the replica core); one smoke test checks the request
 * ids, access lines and a declared-too-large body over a real server.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import { type HandlerHarness, loadHandler } from "../mod.ts";

const PROJECT = fixture("errors");
const labels = (l: LogLine) => (l.labels ?? {}) as Record<string, unknown>;

/** Runs `fn` with a fixture's handler loaded in-process. */
async function withHandler(
  dir: string,
  fn: (h: HandlerHarness) => Promise<void>,
): Promise<void> {
  const h = await loadHandler(dir, undefined, { accessLog: true });
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

/** A POST of `bytes` zero bytes that declares its length, as fetch does. */
function declared(bytes: number): RequestInit {
  return {
    method: "POST",
    body: new Uint8Array(bytes),
    headers: { "content-length": String(bytes) },
  };
}

Deno.test("errors: status codes for unknown paths, methods, throws and HttpError", async (t) => {
  await withHandler(PROJECT, async (h) => {
    await t.step("an unknown path → 404 JSON", async () => {
      const res = await h.request("/nope");
      assert.equal(res.status, 404);
      assert.match((await res.json()).error, /\/nope/);
      assert.ok(res.headers.get("x-request-id"));
    });

    await t.step("an unimplemented method → 405 with Allow", async () => {
      const res = await h.request("/errors", { method: "DELETE" });
      assert.equal(res.status, 405);
      await res.body?.cancel();
      const allow = (res.headers.get("allow") ?? "").split(/,\s*/).sort();
      assert.deepEqual(allow, ["GET", "HEAD", "POST"]);
    });

    await t.step(
      "a handler throw → 500 {error, request_id}, stack only in the log",
      async () => {
        const res = await h.request("/errors?case=throw");
        assert.equal(res.status, 500);
        const text = await res.text();
        const body = JSON.parse(text);
        const id = res.headers.get("x-request-id");
        assert.deepEqual(Object.keys(body).sort(), ["error", "request_id"]);
        assert.equal(body.request_id, id);
        assert.doesNotMatch(text, /secret internal detail|handler\.ts|at /);
        const line = await h.waitForLog((l) =>
          labels(l).requestId === id && "exc_info" in l
        );
        assert.equal(line.levelname, "ERROR");
        assert.match(String(line.exc_info), /secret internal detail/);
        assert.match(String(line.exc_info), /handler\.ts/);
      },
    );

    await t.step(
      "HttpError(422, message) → 422 with that message",
      async () => {
        const res = await h.request("/errors?case=http-error");
        assert.equal(res.status, 422);
        assert.deepEqual(await res.json(), {
          error: 'Field "name" is required',
        });
      },
    );
  });
});

Deno.test("errors: x-request-id is on every response and in the access line", async () => {
  await withHandler(PROJECT, async (h) => {
    const res = await h.request("/errors");
    const id = res.headers.get("x-request-id");
    assert.match(id ?? "", /^[\w-]{8,}$/);
    assert.deepEqual(await res.json(), { requestId: id });
    const access = await h.waitForLog((l) =>
      l.requestId === id && l.status === 200
    );
    assert.equal(access.path, "/errors");

    const given = await h.request("/errors", {
      headers: { "x-request-id": "client-chosen.id-42" },
    });
    assert.equal(given.headers.get("x-request-id"), "client-chosen.id-42");
    assert.deepEqual(await given.json(), { requestId: "client-chosen.id-42" });
    await h.waitForLog((l) =>
      l.requestId === "client-chosen.id-42" && l.method === "GET"
    );
  });
});

Deno.test("errors: a body over handler.max_body_size → 413", async (t) => {
  await withHandler(PROJECT, async (h) => {
    await t.step("within the limit is served", async () => {
      const res = await h.request("/errors", declared(1024));
      assert.deepEqual(await res.json(), { size: 1024 });
    });

    await t.step("declared by Content-Length", async () => {
      const res = await h.request("/errors", declared(1025));
      assert.equal(res.status, 413);
      assert.match((await res.json()).error, /max_body_size/);
    });

    await t.step("chunked (no Content-Length)", async () => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(512));
          c.close();
        },
      });
      const res = await h.request("/errors", { method: "POST", body });
      assert.equal(res.status, 413);
      assert.match((await res.json()).error, /max_body_size/);
    });
  });
});

Deno.test("errors: a handler over handler.request_timeout → 504 and its signal aborts", async () => {
  await withHandler(PROJECT, async (h) => {
    const started = performance.now();
    const res = await h.request("/errors?case=slow");
    const elapsed = performance.now() - started;
    assert.equal(res.status, 504);
    assert.match((await res.json()).error, /request_timeout/);
    assert.ok(elapsed >= 450 && elapsed < 4000, `answered after ${elapsed} ms`);
    const id = res.headers.get("x-request-id");
    const line = await h.waitForLog((l) => l.message === "Handler saw abort");
    assert.equal(labels(line).requestId, id);
    assert.equal(line.reason, "TimeoutError");
  });
});

Deno.test("errors: at max_replica_concurrency → 503 with Retry-After", async () => {
  await withHandler(fixture("concurrency"), async (h) => {
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => h.request("/concurrency")),
    );
    const statuses = responses.map((r) => r.status);
    for (const r of responses) {
      if (r.status === 503) {
        assert.ok(Number(r.headers.get("retry-after")) >= 1);
        assert.match((await r.json()).error, /concurrency/);
      } else {
        assert.deepEqual(await r.json(), { ok: true });
      }
    }
    const ok = statuses.filter((s) => s === 200).length;
    const busy = statuses.filter((s) => s === 503).length;
    assert.equal(ok + busy, 6, `unexpected statuses ${statuses}`);
    assert.equal(ok, 2, `statuses ${statuses}`);
  });
});

Deno.test("errors: request ids, access lines and 413 over a real socket (smoke)", async () => {
  await withServer(PROJECT, {}, async ({ url, waitForLine }) => {
    const given = await fetch(`${url}/errors`, {
      headers: { "x-request-id": "client-chosen.id-42" },
    });
    assert.equal(given.headers.get("x-request-id"), "client-chosen.id-42");
    assert.deepEqual(await given.json(), { requestId: "client-chosen.id-42" });
    const access = await waitForLine((l) =>
      l.requestId === "client-chosen.id-42" && l.method === "GET"
    );
    assert.equal(access.status, 200);
    assert.equal(access.path, "/errors");

    for (const path of ["/nope", "/healthz", "/metrics"]) {
      const r = await fetch(`${url}${path}`);
      await r.body?.cancel();
      assert.ok(r.headers.get("x-request-id"), `no x-request-id on ${path}`);
    }

    const tooLarge = await fetch(`${url}/errors`, {
      method: "POST",
      body: new Uint8Array(1025),
    });
    assert.equal(tooLarge.status, 413);
    assert.match((await tooLarge.json()).error, /max_body_size/);
  });
});
