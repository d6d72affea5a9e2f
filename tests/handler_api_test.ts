/**
 * The contract "Handler (TypeScript)": method names, the exported class, what
 * the constructor and the methods receive, and constructor failures. The
 * cases run in-process through `loadHandler` (the replica core); one smoke
 * test serves a project with a failing API over a real server. (A failing
 * only API ending the server: tests/startup_test.ts.)
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "./_server.ts";
import { type HandlerHarness, loadHandler } from "../mod.ts";

/** Runs `fn` with a fixture's handler loaded in-process. */
async function withHandler(
  dir: string,
  fn: (h: HandlerHarness) => Promise<void>,
  apiName?: string,
): Promise<void> {
  const h = await loadHandler(dir, apiName);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

Deno.test("handler API: the constructor gets handler.config and ctx; methods get req", async () => {
  const dir = fixture("handler_api");
  const url = "http://localhost";
  await withHandler(dir, async (h) => {
    const res = await h.request(`/ctx/sub/path?x=1&tag=a&tag=b`, {
      headers: { "x-custom": "hello", "x-request-id": "req-123" },
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body.config, { threshold: 0.5, labels: ["a", "b"] });
    assert.equal(body.api.name, "context");
    assert.equal(body.api.kind, "RealtimeAPI");
    assert.equal(body.api.endpoint, "/ctx");
    assert.equal(body.api.replicaId, "test");
    assert.equal(body.projectDir.replace(/\/$/, ""), dir.replace(/\/$/, ""));
    assert.equal(typeof body.scratchDir, "string");
    assert.ok(
      !body.scratchDir.startsWith(dir),
      "scratchDir must be outside the project",
    );
    assert.deepEqual(body.values, { model: "tiny", classes: 3 });
    assert.deepEqual(body.loggerMethods, ["debug", "info", "warning", "error"]);
    assert.deepEqual(body.req, {
      method: "GET",
      url: `${url}/ctx/sub/path?x=1&tag=a&tag=b`,
      query: { x: "1", tag: "b" },
      queryAll: ["a", "b"],
      header: "hello",
      requestId: "req-123",
      hasSignal: true,
    });

    const put = await h.request("/ctx", {
      method: "PUT",
      body: JSON.stringify({ v: 1 }),
      headers: { "content-type": "application/json" },
    });
    assert.deepEqual(await put.json(), { method: "PUT", payload: { v: 1 } });
  });
});

Deno.test("handler API: snake_case methods on an `export default class` work", async () => {
  await withHandler(fixture("snake_default"), async (h) => {
    const res = await h.request("/snake", {
      method: "POST",
      body: JSON.stringify({ n: 21 }),
      headers: { "content-type": "application/json" },
    });
    assert.deepEqual(await res.json(), { doubled: 42 });
    const del = await h.request("/snake", { method: "DELETE" });
    assert.deepEqual(await del.json(), { deleted: true, method: "DELETE" });
    const get = await h.request("/snake");
    await get.body?.cancel();
    assert.equal(get.status, 405);
    assert.deepEqual((get.headers.get("allow") ?? "").split(/,\s*/).sort(), [
      "DELETE",
      "POST",
    ]);
  });
});

Deno.test("handler API: a throwing constructor fails the load with its error", async () => {
  await assert.rejects(
    () => loadHandler(fixture("ctor_fails")),
    /Model file weights\.bin is missing/,
  );
});

Deno.test("handler API: of two APIs, the one whose constructor throws fails alone", async () => {
  await assert.rejects(
    () => loadHandler(fixture("two_apis"), "bad"),
    /Cannot load the bad model/,
  );
  await withHandler(fixture("two_apis"), async (h) => {
    assert.deepEqual(await (await h.request("/good")).json(), { api: "good" });
  }, "good");
});

Deno.test("handler API: with one failed API, /healthz is 503 naming it and the other API serves (smoke)", async () => {
  await withServer(fixture("two_apis"), {}, async ({ url, lines }) => {
    const good = await fetch(`${url}/good`);
    assert.deepEqual(await good.json(), { api: "good" });
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 503);
    const body = await health.json();
    assert.match(JSON.stringify(body), /"bad"/);
    assert.match(JSON.stringify(body), /Cannot load the bad model/);
    assert.doesNotMatch(body.reason ?? "", /"good"/);
    const bad = await fetch(`${url}/bad`);
    await bad.body?.cancel();
    assert.equal(bad.status, 503);
    assert.ok(
      lines().some((l) =>
        l.levelname === "ERROR" &&
        JSON.stringify(l).includes("Cannot load the bad model")
      ),
    );
  });
});
