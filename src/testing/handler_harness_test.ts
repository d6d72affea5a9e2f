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

Deno.test("loadHandler() answers HEAD with handleGet's head, no body, and runs its callback", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harness-head-" });
  try {
    await Deno.writeTextFile(
      `${dir}/cortex.yaml`,
      "- name: head\n  handler:\n    path: handler.ts\n",
    );
    await Deno.writeTextFile(
      `${dir}/handler.ts`,
      `export class Handler {
  constructor(_c, ctx) { this.ctx = ctx; }
  handleGet() {
    return [{ items: [1, 2, 3] }, () => this.ctx.logger.info("callback ran")];
  }
}
`,
    );
    const h = await loadHandler(dir);
    try {
      const get = await h.request("/head");
      const body = await get.text();
      const head = await h.request("/head", { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-type"), "application/json");
      assert.equal(head.headers.get("content-length"), String(body.length));
      assert.ok(head.headers.get("x-request-id"));
      assert.equal(head.body, null);
      for (let i = 0; i < 50; i++) {
        if (h.logs.filter((l) => l.message === "callback ran").length >= 2) {
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(
        h.logs.filter((l) => l.message === "callback ran").length,
        2,
        "the callback ran for GET and HEAD",
      );
      const options = await h.request("/head", { method: "OPTIONS" });
      assert.equal(options.status, 405);
      assert.equal(options.headers.get("allow"), "GET, HEAD");
      await options.body?.cancel();
    } finally {
      await h.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadHandler() batches POST requests under server_side_batching", async () => {
  const h = await loadHandler(
    fromFileUrl(new URL("../../tests/fixtures/batching/", import.meta.url)),
    "batch",
  );
  try {
    const responses = await Promise.all(
      ["a", "b", "c"].map((id) =>
        h.request("/batch", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id }),
        })
      ),
    );
    const bodies = await Promise.all(responses.map((r) => r.json()));
    assert.deepEqual(bodies.map((b) => [b.id, b.size]), [
      ["a", 3],
      ["b", 3],
      ["c", 3],
    ]);
  } finally {
    await h.close();
  }
});
