import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type CacheFile,
  kindOf,
  namesToPrune,
  pruneCacheDir,
  touch,
} from "./cache_pruning.ts";
import { prepareCacheDir } from "./prepare_cache.ts";
import { StartRecords } from "./start_record.ts";

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_000 * DAY;
const POLICY = { keep: 3, maxAgeMs: 30 * DAY, tmpMaxAgeMs: 60 * 60 * 1000 };
const hex = (n: number) => n.toString(16).padStart(64, "0");

Deno.test("kindOf: only the cache's own names are ever pruned", () => {
  assert.equal(kindOf(`${hex(1)}.json`), "prepared");
  assert.equal(kindOf(`start-${hex(1)}.json`), "start");
  assert.equal(kindOf(`.${hex(1)}.0e8f.tmp`), "tmp");
  assert.equal(kindOf("notes.json"), null);
  assert.equal(kindOf(`${hex(1)}.json.bak`), null);
  assert.equal(kindOf(`start-${hex(1).slice(1)}.json`), null);
});

Deno.test("namesToPrune keeps the most recently used of each kind", () => {
  const files: CacheFile[] = [];
  for (let i = 0; i < 5; i++) {
    files.push({ name: `${hex(i)}.json`, mtimeMs: NOW - i * DAY });
    files.push({ name: `start-${hex(i)}.json`, mtimeMs: NOW - (4 - i) * DAY });
  }
  files.push({ name: "README", mtimeMs: 0 });
  const pruned = namesToPrune(files, NOW, POLICY).sort();
  assert.deepEqual(pruned, [
    `${hex(3)}.json`,
    `${hex(4)}.json`,
    `start-${hex(0)}.json`,
    `start-${hex(1)}.json`,
  ]);
});

Deno.test("namesToPrune drops entries unused for maxAge and abandoned temp files", () => {
  const pruned = namesToPrune(
    [
      { name: `${hex(1)}.json`, mtimeMs: NOW - 31 * DAY },
      { name: `${hex(2)}.json`, mtimeMs: NOW - 29 * DAY },
      { name: `.${hex(3)}.a.tmp`, mtimeMs: NOW - 2 * 60 * 60 * 1000 },
      { name: `.start-${hex(4)}.b.tmp`, mtimeMs: NOW - 60 * 1000 },
    ],
    NOW,
    POLICY,
  );
  assert.deepEqual(pruned.sort(), [`.${hex(3)}.a.tmp`, `${hex(1)}.json`]);
});

Deno.test("pruneCacheDir removes by mtime on disk; touch marks a file used", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex_prune_" });
  try {
    for (let i = 0; i < 5; i++) {
      const path = join(dir, `${hex(i)}.json`);
      await Deno.writeTextFile(path, "{}");
      const t = new Date(Date.now() - (10 + i) * DAY);
      await Deno.utime(path, t, t);
    }
    await Deno.writeTextFile(join(dir, "mine.txt"), "kept");
    await touch(join(dir, `${hex(4)}.json`)); // the oldest, used now
    const removed = await pruneCacheDir(dir, Date.now(), POLICY);
    assert.deepEqual(removed.sort(), [`${hex(2)}.json`, `${hex(3)}.json`]);
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left.sort(), [
      `${hex(0)}.json`,
      `${hex(1)}.json`,
      `${hex(4)}.json`,
      "mine.txt",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writing a start record prunes stale records beside it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex_prune_" });
  try {
    const stale = join(dir, `start-${hex(9)}.json`);
    await Deno.writeTextFile(stale, "{}");
    const old = new Date(Date.now() - 40 * DAY);
    await Deno.utime(stale, old, old);
    const records = new StartRecords(dir);
    await records.write(hex(1), { args: [], env: {}, files: {} });
    await assert.rejects(Deno.stat(stale), Deno.errors.NotFound);
    await Deno.stat(records.path(hex(1)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prepareCacheDir: no cache when no home is known", () => {
  const saved = ["CORTEX_PREPARE_CACHE", "XDG_CACHE_HOME", "HOME"].map((
    k,
  ) => [k, Deno.env.get(k)] as const);
  try {
    for (const [k] of saved) Deno.env.delete(k);
    assert.equal(prepareCacheDir(), null);
    Deno.env.set("HOME", "/home/u");
    assert.equal(prepareCacheDir(), "/home/u/.cache/cortex/prepared");
    Deno.env.set("XDG_CACHE_HOME", "/x");
    assert.equal(prepareCacheDir(), "/x/cortex/prepared");
    Deno.env.set("CORTEX_PREPARE_CACHE", "off");
    assert.equal(prepareCacheDir(), null);
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
  }
});
