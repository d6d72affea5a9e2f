/**
 * The prepare cache through `cortex serve` (issue 17): a second start of an
 * unchanged project skips deno cache/info/check (the supervisor says so),
 * with the supervisor's own narrow permissions; a handler edited into a type
 * error after that cached good start is refused as before; a project without
 * a lockfile of its own (`"lock": false`) keeps its npm packages on every
 * start.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { example, messages, runToExit, withServer } from "./_server.ts";

const CACHED = /unchanged since a start that cached and checked them/;

async function hello(url: string): Promise<unknown> {
  const res = await fetch(`${url}/hello`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"name":"Ann"}',
  });
  assert.equal(res.status, 200);
  return await res.json();
}

Deno.test("prepare cache: the second start reuses the checked graph; a type error after it is refused", async () => {
  const root = await Deno.makeTempDir({ prefix: "cortex_prepare_e2e_" });
  const project = join(root, "hello");
  const env = { CORTEX_PREPARE_CACHE: join(root, "cache") };
  try {
    const cp = new Deno.Command("cp", {
      args: ["-R", example("hello"), project],
    });
    assert.equal((await cp.output()).code, 0);
    await withServer(project, { env }, async (s) => {
      assert.equal(
        (await hello(s.url) as { message: string }).message,
        "Hello, Ann!",
      );
      assert.ok(!messages(s.lines()).some((m) => CACHED.test(m)));
    });
    await withServer(project, { env }, async (s) => {
      assert.ok(
        messages(s.lines()).some((m) => CACHED.test(m)),
        "the second start says it used the cache",
      );
      assert.equal(
        (await hello(s.url) as { message: string }).message,
        "Hello, Ann!",
      );
    });

    const handler = join(project, "handler.ts");
    await Deno.writeTextFile(
      handler,
      (await Deno.readTextFile(handler)) +
        'export const broken: number = "one";\n',
    );
    const { code, lines } = await runToExit(project, { env });
    assert.equal(code, 2);
    const text = messages(lines).join("\n");
    assert.match(text, /Type check failed for API "hello"/);
    assert.match(text, /TS2322/);
    assert.doesNotMatch(text, CACHED);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// An npm package in no lockfile of the runtime (the first start fetches it
// from the npm registry when Deno's cache does not have it).
const SEEDRANDOM = "npm:seedrandom@3.0.5";

Deno.test({
  name:
    'prepare cache: a project with "lock": false keeps its npm packages on a cached start',
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "cortex_prepare_e2e_" });
    const project = join(root, "hello");
    const env = { CORTEX_PREPARE_CACHE: join(root, "cache") };
    try {
      const cp = new Deno.Command("cp", {
        args: ["-R", example("hello"), project],
      });
      assert.equal((await cp.output()).code, 0);
      // Without a lockfile of its own, the packages the cache step resolved
      // live only in that start's scratch lockfile.
      await Deno.writeTextFile(join(project, "deno.json"), '{"lock": false}');
      const handler = join(project, "handler.ts");
      await Deno.writeTextFile(
        handler,
        `import seedrandom from "${SEEDRANDOM}";\n` +
          (await Deno.readTextFile(handler)).replace(
            "return { labels: this.#labels };",
            'return { labels: this.#labels, n: seedrandom("x")() };',
          ),
      );
      for (const start of ["first", "second"]) {
        await withServer(project, { env }, async (s) => {
          const res = await fetch(`${s.url}/hello`);
          const body = await res.json();
          assert.equal(
            res.status,
            200,
            `${start} start: ${JSON.stringify(body)}`,
          );
          assert.equal(typeof body.n, "number", `${start} start`);
        });
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
