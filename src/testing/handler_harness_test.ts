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
      const ran = () => h.logs.filter((l) => l.message === "callback ran");
      await h.waitForLog(() => ran().length >= 2);
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

/** Writes a one-API project (`name: env`) with `handler` as handler.ts. */
async function tempProject(handler: string, yaml = ""): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "harness-core-" });
  await Deno.writeTextFile(
    `${dir}/cortex.yaml`,
    `- name: env\n  handler:\n    path: handler.ts\n${yaml}`,
  );
  await Deno.writeTextFile(`${dir}/.env`, "FROM_DOTENV=yes\n");
  await Deno.writeTextFile(`${dir}/handler.ts`, handler);
  return dir;
}

Deno.test("loadHandler() gives the handler the replica's env, console and chaining, then puts them back", async () => {
  const dir = await tempProject(
    `export class Handler {
  handleGet(_p, req) {
    console.log("console line", 7);
    return {
      dotenv: Deno.env.get("FROM_DOTENV"),
      extra: process.env.EXTRA,
      apiName: Deno.env.get("CORTEX_API_NAME"),
      home: Deno.env.get("HOME") ?? null,
      requestId: req.requestId,
    };
  }
  async handlePost() {
    const own = await fetch("http://api-env:8888/env");
    const other = await fetch("http://api-other:8888/x", { method: "POST" });
    return { own: (await own.json()).dotenv, other: await other.text() };
  }
}
`,
    // Two slots: the POST holds one while its call to its own API runs.
    "    threads_per_process: 2\n- name: other\n  handler:\n    path: handler.ts\n",
  );
  const fetchBefore = globalThis.fetch;
  const consoleBefore = globalThis.console;
  const home = Deno.env.get("HOME");
  const chained: string[] = [];
  const h = await loadHandler(dir, "env", {
    env: { EXTRA: "given" },
    chain: (api, req) => {
      chained.push(`${api} ${req.method} ${req.headers.get("x-request-id")}`);
      return new Response(`answered by ${api}`);
    },
  });
  try {
    const res = await h.request("/env", { headers: { "x-request-id": "r-1" } });
    assert.deepEqual(await res.json(), {
      dotenv: "yes",
      extra: "given",
      apiName: "env",
      home: null,
      requestId: "r-1",
    });
    const line = h.logs.find((l) => l.message === "console line 7");
    assert.ok(line, "console output is captured");
    assert.equal((line.labels as Record<string, unknown>).requestId, "r-1");

    const post = await h.request("/env", {
      method: "POST",
      headers: { "x-request-id": "r-2" },
    });
    assert.deepEqual(await post.json(), {
      own: "yes",
      other: "answered by other",
    });
    assert.deepEqual(chained, ["other POST r-2"]);
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(globalThis.fetch, fetchBefore);
  assert.equal(globalThis.console, consoleBefore);
  assert.equal(Deno.env.get("HOME"), home);
  assert.equal(Deno.env.get("FROM_DOTENV"), undefined);
});

Deno.test("loadHandler() without a chain option: a call to another API fails naming it", async () => {
  const dir = await tempProject(
    `export class Handler {
  async handleGet() {
    return await fetch("http://api-other:8888/x");
  }
}
`,
    "- name: other\n  handler:\n    path: handler.ts\n",
  );
  const h = await loadHandler(dir);
  try {
    const res = await h.request("/env");
    assert.equal(res.status, 500);
    await res.body?.cancel();
    const line = h.logs.find((l) => "exc_info" in l);
    assert.match(String(line?.exc_info), /API "other".*"chain" option/);
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadHandler() loads one handler at a time and answers 404 outside the endpoint", async () => {
  const h = await loadHandler(HELLO);
  try {
    await assert.rejects(() => loadHandler(ERRORS), /close\(\) it first/);
    const res = await h.request("/elsewhere");
    assert.equal(res.status, 404);
    assert.ok(res.headers.get("x-request-id"));
    assert.match((await res.json()).error, /\/elsewhere/);
  } finally {
    await h.close();
  }
  const again = await loadHandler(ERRORS);
  await again.close();
});

Deno.test("loadHandler() puts the globals back when the handler fails to load", async () => {
  const dir = await tempProject(
    `export class Handler {
  constructor() { throw new Error("no weights"); }
}
`,
  );
  const cwd = Deno.cwd();
  const consoleBefore = globalThis.console;
  try {
    await assert.rejects(() => loadHandler(dir), /no weights/);
    assert.equal(Deno.cwd(), cwd);
    assert.equal(globalThis.console, consoleBefore);
    await (await loadHandler(HELLO)).close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const MODELS = fromFileUrl(
  new URL("../../tests/fixtures/models/", import.meta.url),
);

Deno.test("loadHandler() loads handler.models before the first request and runs handler.warmup", async () => {
  const h = await loadHandler(MODELS, "one");
  try {
    const res = await h.request("/one", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    // Three warmup calls ran through the pipeline before this one.
    assert.deepEqual(await res.json(), {
      answer: "a1",
      calls: 4,
      loads: ["default@1"],
    });
  } finally {
    await h.close();
  }
  const dirs = await loadHandler(MODELS, "dirs");
  try {
    const res = await dirs.request("/dirs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "dirmodel", version: "1" }),
    });
    assert.equal((await res.json()).answer, "d1");
  } finally {
    await dirs.close();
  }
});

Deno.test("loadHandler() fails when handler.warmup fails, naming the call and status", async () => {
  await assert.rejects(
    () => loadHandler(MODELS, "failing"),
    /handler\.warmup call 1 of 1 \(POST \/failing\) failed with status 500/,
  );
  await (await loadHandler(HELLO)).close();
});
