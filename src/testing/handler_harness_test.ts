import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { loadHandler } from "./handler_harness.ts";

const HELLO = fromFileUrl(new URL("../../examples/hello/", import.meta.url));
const ERRORS = fromFileUrl(
  new URL("../../tests/fixtures/errors/", import.meta.url),
);

Deno.test("loadHandler() serves a request through the replica pipeline", async () => {
  const h = await loadHandler(HELLO);
  try {
    const res = await h.request("/hello", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Ann", label: 1 }),
    });
    assert.equal(res.status, 200);
    assert.ok(res.headers.get("x-request-id"));
    assert.deepEqual(await res.json(), {
      message: "Hello, Ann!",
      label: "versicolor",
      replica: "test",
    });
    assert.ok(
      h.logs.some((l) => l.message === "Greeting"),
      "handler logs are captured",
    );
    const get = await h.request("/hello");
    assert.deepEqual((await get.json()).labels.length, 3);
    const put = await h.request("/hello", { method: "PUT" });
    assert.equal(put.status, 405);
    await put.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("loadHandler() gives the documented error statuses", async () => {
  const h = await loadHandler(ERRORS);
  try {
    const bad = await h.request("/errors", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /JSON/);
  } finally {
    await h.close();
  }
});

Deno.test("loadHandler() names the APIs when the one asked for is missing", async () => {
  await assert.rejects(() => loadHandler(HELLO, "nope"), /"hello"/);
});
