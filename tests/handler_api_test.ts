/**
 * The contract "Handler (TypeScript)": method names, the exported class, what
 * the constructor and the methods receive, and constructor failures.
 */

import assert from "node:assert/strict";
import { fixture, runToExit, withServer } from "./_server.ts";

Deno.test("handler API: the constructor gets handler.config and ctx; methods get req", async () => {
  const dir = fixture("handler_api");
  await withServer(dir, {}, async ({ url }) => {
    const res = await fetch(`${url}/ctx/sub/path?x=1&tag=a&tag=b`, {
      headers: { "x-custom": "hello", "x-request-id": "req-123" },
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body.config, { threshold: 0.5, labels: ["a", "b"] });
    assert.equal(body.api.name, "context");
    assert.equal(body.api.kind, "RealtimeAPI");
    assert.equal(body.api.endpoint, "/ctx");
    assert.match(body.api.replicaId, /^context-\d+$/);
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

    const put = await fetch(`${url}/ctx`, {
      method: "PUT",
      body: JSON.stringify({ v: 1 }),
      headers: { "content-type": "application/json" },
    });
    assert.deepEqual(await put.json(), { method: "PUT", payload: { v: 1 } });
  });
});

Deno.test("handler API: snake_case methods on an `export default class` work", async () => {
  await withServer(fixture("snake_default"), {}, async ({ url }) => {
    const res = await fetch(`${url}/snake`, {
      method: "POST",
      body: JSON.stringify({ n: 21 }),
      headers: { "content-type": "application/json" },
    });
    assert.deepEqual(await res.json(), { doubled: 42 });
    const del = await fetch(`${url}/snake`, { method: "DELETE" });
    assert.deepEqual(await del.json(), { deleted: true, method: "DELETE" });
    const get = await fetch(`${url}/snake`);
    await get.body?.cancel();
    assert.equal(get.status, 405);
    assert.deepEqual((get.headers.get("allow") ?? "").split(/,\s*/).sort(), [
      "DELETE",
      "POST",
    ]);
  });
});

Deno.test("handler API: a throwing constructor of the only API exits non-zero with the error logged", async () => {
  const { code, lines, stderr } = await runToExit(fixture("ctor_fails"));
  assert.notEqual(code, 0);
  const text = JSON.stringify(lines) + stderr;
  assert.match(text, /Model file weights\.bin is missing/);
  assert.ok(
    lines.some((l) =>
      l.levelname === "ERROR" && JSON.stringify(l).includes("weights.bin")
    ),
    "no ERROR line names the constructor's error",
  );
  assert.ok(!lines.some((l) => String(l.message).startsWith("Serving on")));
});

Deno.test("handler API: with one failed API, /healthz is 503 naming it and the other API serves", async () => {
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
