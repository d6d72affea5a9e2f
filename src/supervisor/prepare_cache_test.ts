import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Project } from "../config/resolved_config.ts";
import { ModuleGraphError, prepareModules } from "./modules.ts";
import { digestFiles, PrepareCache, prepareKey } from "./prepare_cache.ts";

const MOD_TS = fileURLToPath(new URL("../../mod.ts", import.meta.url));

function projectOf(dir: string): Project {
  return {
    dir,
    apis: [{ name: "api0", handler: { path: "handler.ts" } }],
  } as unknown as Project;
}

/** A project, a cache and `prepare()`, which runs one start's preparation. */
async function withProject(
  files: Record<string, string>,
  fn: (t: {
    dir: string;
    cache: PrepareCache;
    prepare: (opts?: { noCheck?: boolean }) => Promise<{
      fromCache: boolean;
      packages: Record<string, string[]>;
    }>;
  }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cortex_prepared_" });
  const cache = new PrepareCache(join(dir, ".cache"));
  const scratches: string[] = [];
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, path), text);
    }
    await fn({
      dir,
      cache,
      prepare: async (opts = {}) => {
        const scratch = await Deno.makeTempDir({ prefix: "cortex_scratch_" });
        scratches.push(scratch);
        const out = await prepareModules(projectOf(dir), scratch, {
          ...opts,
          cache,
        });
        return {
          fromCache: out.fromCache === true,
          packages: JSON.parse(await Deno.readTextFile(out.packages!)),
        };
      },
    });
  } finally {
    for (const d of [dir, ...scratches]) {
      await Deno.remove(d, { recursive: true });
    }
  }
}

const rejectsTypeCheck = (run: Promise<unknown>) =>
  assert.rejects(run, (e: Error) => {
    assert.ok(e instanceof ModuleGraphError);
    assert.match(e.message, /^Type check failed for API "api0"/);
    assert.match(e.message, /TS2322/);
    assert.match(e.message, /lib\.ts:1:/);
    return true;
  });

Deno.test("prepare cache: a start with nothing changed skips the steps; an edited handler module gets its new graph", async () => {
  await withProject({
    "handler.ts": 'import { HttpError } from "cortex";\n' +
      'import { n } from "./lib.ts";\n' +
      "export class Handler { e = HttpError; handleGet() { return n; } }\n",
    "lib.ts": "export const n = 1;\n",
    "data.bin": "bytes",
    "README.md": "not in the graph\n",
  }, async ({ dir, prepare, cache }) => {
    assert.equal((await prepare()).fromCache, false);
    const again = await prepare();
    assert.equal(again.fromCache, true);
    assert.deepEqual(again.packages, { "handler.ts": [] });
    // The entry covers the runtime's files the check read, too.
    const [entry] = [...Deno.readDirSync(cache.dir)];
    const stored = JSON.parse(
      await Deno.readTextFile(join(cache.dir, entry!.name)),
    );
    assert.ok(stored.files.includes(join(dir, "lib.ts")));
    assert.ok(stored.files.includes(MOD_TS), "mod.ts is in the digest");

    // A file outside the graph changes nothing.
    await Deno.writeTextFile(join(dir, "README.md"), "edited\n");
    assert.equal((await prepare()).fromCache, true);

    // lib.ts now byte-imports a file: the steps run, and replicas get it.
    await Deno.writeTextFile(
      join(dir, "lib.ts"),
      'import data from "./data.bin" with { type: "bytes" };\n' +
        "export const n = data.length;\n",
    );
    const edited = await prepare();
    assert.equal(edited.fromCache, false);
    assert.deepEqual(edited.packages, {
      "handler.ts": [join(dir, "data.bin")],
    });
    assert.equal((await prepare()).fromCache, true);
  });
});

Deno.test("prepare cache: a type error after a cached good run is reported, never cached", async () => {
  const good = "export const n: number = 1;\n";
  await withProject({
    "handler.ts": 'import { n } from "./lib.ts";\n' +
      "export class Handler { handleGet() { return n; } }\n",
    "lib.ts": good,
  }, async ({ dir, prepare }) => {
    await prepare();
    assert.equal((await prepare()).fromCache, true);
    await Deno.writeTextFile(
      join(dir, "lib.ts"),
      'export const n: number = "one";\n',
    );
    await rejectsTypeCheck(prepare());
    await rejectsTypeCheck(prepare());
    // Back to the contents that checked: the entry applies again.
    await Deno.writeTextFile(join(dir, "lib.ts"), good);
    assert.equal((await prepare()).fromCache, true);
  });
});

Deno.test("prepare cache: an entry of a --no-check start does not stand for a check", async () => {
  await withProject({
    "handler.ts": 'import { n } from "./lib.ts";\n' +
      "export class Handler { handleGet() { return n; } }\n",
    "lib.ts": 'export const n: number = "one";\n',
  }, async ({ prepare }) => {
    assert.equal((await prepare({ noCheck: true })).fromCache, false);
    assert.equal((await prepare({ noCheck: true })).fromCache, true);
    await rejectsTypeCheck(prepare());
  });
});

Deno.test("prepare cache: deno.json's compilerOptions are part of the key", async () => {
  // Fine under Deno's defaults; an error under noUncheckedIndexedAccess.
  await withProject({
    "handler.ts": 'import { n } from "./lib.ts";\n' +
      "export class Handler { handleGet() { return n; } }\n",
    "lib.ts": "const xs = [{ n: 1 }];\nexport const n: number = xs[0].n;\n",
  }, async ({ dir, prepare }) => {
    await prepare();
    assert.equal((await prepare()).fromCache, true);
    await Deno.writeTextFile(
      join(dir, "deno.json"),
      JSON.stringify({ compilerOptions: { noUncheckedIndexedAccess: true } }),
    );
    await assert.rejects(prepare(), /TS2532|TS18048/);
  });
});

Deno.test("PrepareCache: nothing stored for a file changed during the steps; an entry is ignored when a file changed, a cached path is gone or others may write it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex_prepared_" });
  try {
    const cache = new PrepareCache(join(dir, "cache"));
    const file = join(dir, "a.ts");
    const pkg = join(dir, "pkg");
    await Deno.writeTextFile(file, "export {};\n");
    await Deno.mkdir(pkg);
    const key = await prepareKey({ any: "inputs" });
    assert.notEqual(key, await prepareKey({ any: "other inputs" }));
    const entry = {
      files: [file],
      cached: [pkg],
      packages: { "a.ts": [pkg] },
      checked: true,
    };
    // A file that changed while the steps ran (its digest before them is
    // not its digest now): nothing is stored.
    await cache.store(key, entry, "0".repeat(64));
    assert.equal(await cache.lookup(key), null, "changed during the steps");
    await cache.store(key, entry, (await digestFiles([file]))!);
    assert.deepEqual(await cache.lookup(key), entry);
    assert.equal(await cache.lookup(await prepareKey({ x: 1 })), null);
    const path = join(cache.dir, `${key}.json`);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);

    await Deno.chmod(path, 0o622);
    assert.equal(await cache.lookup(key), null, "group/world-writable");
    await Deno.chmod(path, 0o600);

    await Deno.remove(pkg);
    assert.equal(await cache.lookup(key), null, "package folder gone");
    await Deno.mkdir(pkg);
    assert.deepEqual(await cache.lookup(key), entry);

    await Deno.writeTextFile(file, "export const x = 1;\n");
    assert.equal(await cache.lookup(key), null, "file changed");
    await Deno.remove(file);
    assert.equal(await digestFiles([file]), null);
    assert.equal(await cache.lookup(key), null, "file gone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prepare cache: an entry moved or linked to another project's name is ignored (the type check of that project runs)", async () => {
  const root = await Deno.makeTempDir({ prefix: "cortex_prepared_" });
  const cache = new PrepareCache(join(root, "cache"));
  const scratch = () => Deno.makeTempDir({ dir: root });
  const names = () => [...Deno.readDirSync(cache.dir)].map((e) => e.name);
  try {
    const a = join(root, "a");
    const b = join(root, "b");
    for (const dir of [a, b]) {
      await Deno.mkdir(dir);
      await Deno.writeTextFile(
        join(dir, "handler.ts"),
        'import data from "./data.bin" with { type: "bytes" };\n' +
          "export class Handler { handleGet() { return data.length; } }\n",
      );
      await Deno.writeTextFile(join(dir, "data.bin"), dir);
    }
    await prepareModules(projectOf(a), await scratch(), { cache });
    const [entryA] = names();
    await prepareModules(projectOf(b), await scratch(), { cache });
    const entryB = names().find((n) => n !== entryA)!;
    // Project a's handler no longer type-checks; whoever can write the
    // cache directory (not the user alone: a directory they made, a shared
    // $XDG_CACHE_HOME) puts project b's good entry, still owned by the user
    // and mode 0600, under project a's name.
    await Deno.writeTextFile(
      join(a, "handler.ts"),
      'export const n: number = "one";\nexport class Handler {}\n',
    );
    for (const plant of ["rename", "symlink"] as const) {
      await Deno.remove(join(cache.dir, entryA!)).catch(() => {});
      if (plant === "rename") {
        await Deno.copyFile(
          join(cache.dir, entryB),
          join(cache.dir, `copy.json`),
        );
        await Deno.rename(
          join(cache.dir, "copy.json"),
          join(cache.dir, entryA!),
        );
      } else {
        await Deno.symlink(join(cache.dir, entryB), join(cache.dir, entryA!));
      }
      await assert.rejects(
        prepareModules(projectOf(a), await scratch(), { cache }),
        /Type check failed for API "api0"[^]*TS2322/,
        plant,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("prepare cache: a file deno.json's compilerOptions.types names is part of the digest (an edit to it is checked)", async () => {
  await withProject({
    "globals.d.ts": "declare const LIMIT: number;\n",
    "handler.ts": "export const n: number = LIMIT;\n" +
      "export class Handler { handleGet() { return n; } }\n",
  }, async ({ dir, prepare }) => {
    await Deno.writeTextFile(
      join(dir, "deno.json"),
      JSON.stringify({
        compilerOptions: { types: ["./globals.d.ts"] },
      }),
    );
    await prepare();
    assert.equal((await prepare()).fromCache, true);
    await Deno.writeTextFile(
      join(dir, "globals.d.ts"),
      "declare const LIMIT: string;\n",
    );
    await assert.rejects(prepare(), /Type check failed[^]*TS2322/);
  });
});
