/**
 * The contract "Errors and bad input (HTTP)": 404, 405, 500, HttpError, 413,
 * 504, 503, and the x-request-id on every response.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";

const PROJECT = fixture("errors");
const labels = (l: LogLine) => (l.labels ?? {}) as Record<string, unknown>;

Deno.test("errors: status codes for unknown paths, methods, throws and HttpError", async (t) => {
  await withServer(PROJECT, {}, async ({ url, waitForLine }) => {
    await t.step("an unknown path → 404 JSON", async () => {
      const res = await fetch(`${url}/nope`);
      assert.equal(res.status, 404);
      assert.match((await res.json()).error, /\/nope/);
      assert.ok(res.headers.get("x-request-id"));
    });

    await t.step("an unimplemented method → 405 with Allow", async () => {
      const res = await fetch(`${url}/errors`, { method: "DELETE" });
      assert.equal(res.status, 405);
      await res.body?.cancel();
      const allow = (res.headers.get("allow") ?? "").split(/,\s*/).sort();
      assert.deepEqual(allow, ["GET", "HEAD", "POST"]);
    });

    await t.step(
      "a handler throw → 500 {error, request_id}, stack only in the log",
      async () => {
        const res = await fetch(`${url}/errors?case=throw`);
        assert.equal(res.status, 500);
        const text = await res.text();
        const body = JSON.parse(text);
        const id = res.headers.get("x-request-id");
        assert.deepEqual(Object.keys(body).sort(), ["error", "request_id"]);
        assert.equal(body.request_id, id);
        assert.doesNotMatch(text, /secret internal detail|handler\.ts|at /);
        const line = await waitForLine((l) =>
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
        const res = await fetch(`${url}/errors?case=http-error`);
        assert.equal(res.status, 422);
        assert.deepEqual(await res.json(), {
          error: 'Field "name" is required',
        });
      },
    );
  });
});

Deno.test("errors: x-request-id is on every response and in the access line", async () => {
  await withServer(PROJECT, {}, async ({ url, waitForLine }) => {
    const res = await fetch(`${url}/errors`);
    const id = res.headers.get("x-request-id");
    assert.match(id ?? "", /^[\w-]{8,}$/);
    assert.deepEqual(await res.json(), { requestId: id });
    const access = await waitForLine((l) =>
      l.requestId === id && l.status === 200
    );
    assert.equal(access.path, "/errors");

    const given = await fetch(`${url}/errors`, {
      headers: { "x-request-id": "client-chosen.id-42" },
    });
    assert.equal(given.headers.get("x-request-id"), "client-chosen.id-42");
    assert.deepEqual(await given.json(), { requestId: "client-chosen.id-42" });
    await waitForLine((l) =>
      l.requestId === "client-chosen.id-42" && l.method === "GET"
    );

    for (const path of ["/nope", "/healthz", "/metrics"]) {
      const r = await fetch(`${url}${path}`);
      await r.body?.cancel();
      assert.ok(r.headers.get("x-request-id"), `no x-request-id on ${path}`);
    }
  });
});

Deno.test("errors: a body over handler.max_body_size → 413", async (t) => {
  await withServer(PROJECT, {}, async ({ url }) => {
    await t.step("within the limit is served", async () => {
      const res = await fetch(`${url}/errors`, {
        method: "POST",
        body: new Uint8Array(1024),
      });
      assert.deepEqual(await res.json(), { size: 1024 });
    });

    await t.step("declared by Content-Length", async () => {
      const res = await fetch(`${url}/errors`, {
        method: "POST",
        body: new Uint8Array(1025),
      });
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
      const res = await fetch(`${url}/errors`, { method: "POST", body });
      assert.equal(res.status, 413);
      assert.match((await res.json()).error, /max_body_size/);
    });
  });
});

Deno.test("errors: a handler over handler.request_timeout → 504 and its signal aborts", async () => {
  await withServer(PROJECT, {}, async ({ url, waitForLine }) => {
    const started = performance.now();
    const res = await fetch(`${url}/errors?case=slow`);
    const elapsed = performance.now() - started;
    assert.equal(res.status, 504);
    assert.match((await res.json()).error, /request_timeout/);
    assert.ok(elapsed >= 450 && elapsed < 4000, `answered after ${elapsed} ms`);
    const id = res.headers.get("x-request-id");
    const line = await waitForLine((l) => l.message === "Handler saw abort");
    assert.equal(labels(line).requestId, id);
    assert.equal(line.reason, "TimeoutError");
  });
});

Deno.test("errors: at max_replica_concurrency → 503 with Retry-After", async () => {
  await withServer(fixture("concurrency"), {}, async ({ url }) => {
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => fetch(`${url}/concurrency`)),
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
