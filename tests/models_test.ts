/**
 * `handler.models` (issue 14, item 2) and `handler.warmup` (item 3): models
 * from project files (`path`, `paths`, `dir` with versions), `ctx.models.get`
 * with a version, readiness after the loads and the warmup calls, and
 * files changed on disk picked up without a failed request.
 */

import assert from "node:assert/strict";
import { fixture, messages, runToExit, withServer } from "./_server.ts";

async function post(url: string, body: unknown): Promise<Response> {
  return await fetch(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
}

async function answer(url: string, body: unknown = {}) {
  const res = await post(url, body);
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json as { answer: string; calls: number; loads: string[] };
}

/** A copy of the fixture the test may change. */
async function scratchFixture(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cortex-models-" });
  const cp = new Deno.Command("cp", {
    args: ["-R", `${fixture("models")}/.`, dir],
  });
  assert.equal((await cp.output()).code, 0);
  return dir;
}

Deno.test("models.path: loaded before ready, warmup ran count times first, a changed file is reloaded without failed requests", async () => {
  const dir = await scratchFixture();
  try {
    await withServer(dir, { args: ["--api", "one"] }, async ({ url }) => {
      const first = await answer(`${url}/one`);
      assert.equal(first.answer, "a1");
      assert.equal(first.calls, 4, "3 warmup calls, then this one");
      assert.deepEqual(first.loads, ["default@1"]);
      // Change the file while requests keep coming: none fails.
      let failures = 0;
      let seen = "a1";
      await Deno.writeTextFile(`${dir}/models/a.json`, '{"answer": "a2"}');
      const deadline = Date.now() + 10_000;
      while (seen !== "a2" && Date.now() < deadline) {
        const res = await post(`${url}/one`, {});
        if (res.status !== 200) failures++;
        seen = (await res.json()).answer ?? seen;
      }
      assert.equal(seen, "a2");
      assert.equal(failures, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("models.paths: by name, LRU of cache_size 1", async () => {
  await withServer(
    fixture("models"),
    { args: ["--api", "many"] },
    async ({ url }) => {
      assert.equal((await answer(`${url}/many`, { name: "a" })).answer, "a1");
      assert.equal((await answer(`${url}/many`, { name: "b" })).answer, "b1");
      const again = await answer(`${url}/many`, { name: "a" });
      assert.equal(again.answer, "a1");
      // cache_size 1: "a" was evicted by "b" and loaded again.
      assert.deepEqual(again.loads, ["a@1", "b@1", "a@1"]);
      const res = await post(`${url}/many`, {});
      assert.equal(res.status, 500, "no name with several models");
    },
  );
});

Deno.test("models.dir: versions, latest, and a new version added while serving", async () => {
  const dir = await scratchFixture();
  try {
    await withServer(dir, { args: ["--api", "dirs"] }, async ({ url }) => {
      const u = `${url}/dirs`;
      const latest = await answer(u, { name: "dirmodel" });
      assert.equal(latest.answer, "d2");
      assert.deepEqual(latest.loads.sort(), ["dirmodel@2", "other@3"]);
      assert.equal(
        (await answer(u, { name: "dirmodel", version: "1" })).answer,
        "d1",
      );
      assert.equal((await answer(u, { name: "other" })).answer, "o3");
      const missing = await post(u, { name: "dirmodel", version: "7" });
      assert.equal(missing.status, 500);
      await missing.body?.cancel();
      await Deno.mkdir(`${dir}/models/m/dirmodel/10`);
      await Deno.writeTextFile(
        `${dir}/models/m/dirmodel/10/model.json`,
        '{"answer": "d10"}',
      );
      let seen = "d2";
      let failures = 0;
      const deadline = Date.now() + 10_000;
      while (seen !== "d10" && Date.now() < deadline) {
        const res = await post(u, { name: "dirmodel" });
        if (res.status !== 200) failures++;
        seen = (await res.json()).answer ?? seen;
      }
      assert.equal(seen, "d10");
      assert.equal(failures, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("handler.warmup: a failing call fails the start with a clear message", async () => {
  const { code, lines, stderr } = await runToExit(fixture("models"), {
    args: ["--api", "failing"],
    timeoutMs: 20_000,
  });
  const all = messages(lines).join("\n") + stderr;
  assert.match(
    all,
    /handler\.warmup call 1 of 1 \(POST \/failing\) failed with status 500/,
    all,
  );
  assert.notEqual(code, 0);
});

/** A project whose one model is `url`, with `sha256` when given. */
async function urlProject(url: string, sha256?: string): Promise<string> {
  const dir = await scratchFixture();
  await Deno.writeTextFile(
    `${dir}/cortex.yaml`,
    `- name: remote\n  handler:\n    path: handler.ts\n    models:\n` +
      `      path: "${url}"\n` + (sha256 ? `      sha256: "${sha256}"\n` : ""),
  );
  return dir;
}

async function hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

Deno.test("a model from a URL: downloaded once before serving into the shared cache, checked against sha256", async () => {
  const body = '{"answer": "remote"}';
  let downloads = 0;
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => {
      downloads++;
      return new Response(body);
    },
  );
  const cache = await Deno.makeTempDir({ prefix: "cortex-model-cache-" });
  const env = { CORTEX_MODEL_CACHE: cache };
  const url = `http://127.0.0.1:${http.addr.port}/model.json`;
  const right = await hex(body);
  const dirs: string[] = [];
  try {
    const good = await urlProject(url, right);
    dirs.push(good);
    await withServer(good, { env }, async ({ url: base }) => {
      assert.equal((await answer(`${base}/remote`)).answer, "remote");
    });
    assert.equal(downloads, 1);
    assert.equal(await Deno.readTextFile(`${cache}/${right}`), body);
    // With its sha256 in the cache, a second start downloads nothing.
    await withServer(good, { env }, async ({ url: base }) => {
      assert.equal((await answer(`${base}/remote`)).answer, "remote");
    });
    assert.equal(downloads, 1);

    const wrong = "0".repeat(64);
    const bad = await urlProject(url, wrong);
    dirs.push(bad);
    const { code, lines, stderr } = await runToExit(bad, {
      env,
      timeoutMs: 30_000,
    });
    const all = messages(lines).join("\n") + stderr;
    assert.notEqual(code, 0);
    assert.ok(
      all.includes(
        `API "remote": model "default" (${url}, handler.models): the downloaded file's SHA-256 is ${right}, but cortex.yaml expects ${wrong}; not serving it`,
      ),
      all,
    );
  } finally {
    await http.shutdown();
    for (const d of [...dirs, cache]) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  }
});
