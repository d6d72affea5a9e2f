import assert from "node:assert/strict";
import { type ModelFs, ModelStore, versionsOf } from "./models.ts";

function fakeFs(
  folders: Record<string, string[]>,
  stamps: Record<string, string>,
): ModelFs {
  return {
    stamp: (p) => Promise.resolve(stamps[p] ?? "0"),
    folders: (p) => Promise.resolve(folders[p] ?? []),
  };
}

Deno.test("versionsOf() keeps integer folders, numerically sorted", () => {
  assert.deepEqual(versionsOf(["10", "2", "x", "1", ".tmp"]), ["1", "2", "10"]);
});

Deno.test("ModelStore: get by name and version, LRU of cache_size", async () => {
  const loads: string[] = [];
  const store = new ModelStore({
    sources: [
      { kind: "file", name: "a", path: "/p/a.json" },
      { kind: "file", name: "b", path: "/p/b.json" },
      { kind: "versions", name: "c", dir: "/p/m/c" },
    ],
    load: (path, info) => {
      loads.push(`${path} ${info.name}@${info.version}`);
      return { path };
    },
    cacheSize: 2,
    fs: fakeFs({ "/p/m/c": ["1", "2", "10"] }, {}),
  });
  assert.deepEqual(await store.get("a"), { path: "/p/a.json" });
  assert.deepEqual(await store.get("c"), { path: "/p/m/c/10" });
  assert.deepEqual(await store.get("c", 2), { path: "/p/m/c/2" });
  assert.deepEqual(store.loadedKeys(), ["c@10", "c@2"]);
  await store.get("c", "latest"); // a hit: most recent now
  assert.deepEqual(store.loadedKeys(), ["c@2", "c@10"]);
  await store.get("b");
  assert.deepEqual(store.loadedKeys(), ["c@10", "b@1"]);
  assert.equal(loads.length, 4);
  await assert.rejects(
    () => store.get("c", 3),
    /no version 3 \(versions: 1, 2, 10\)/,
  );
  await assert.rejects(() => store.get("z"), /No model "z"/);
  await assert.rejects(() => store.get(), /needs a model name/);
});

Deno.test("ModelStore: poll reloads changed files and picks up new versions before switching", async () => {
  const stamps: Record<string, string> = { "/p/a.json": "1" };
  const folders: Record<string, string[]> = { "/m/c": ["1"] };
  let n = 0;
  const store = new ModelStore({
    sources: [
      { kind: "file", name: "a", path: "/p/a.json" },
      { kind: "versions", name: "c", dir: "/m/c" },
    ],
    load: (path) => `${path}#${++n}`,
    cacheSize: null,
    fs: fakeFs(folders, stamps),
  });
  await store.preload();
  assert.equal(await store.get("a"), "/p/a.json#1");
  assert.equal(await store.get("c"), "/m/c/1#2");
  await store.poll();
  assert.equal(n, 2, "nothing changed, nothing loaded");
  stamps["/p/a.json"] = "2";
  folders["/m/c"] = ["1", "2"];
  await store.poll();
  assert.equal(await store.get("a"), "/p/a.json#4");
  assert.equal(await store.get("c"), "/m/c/2#3");
  assert.equal(await store.get("c", 1), "/m/c/1#2");
});

Deno.test("ModelStore: a failed reload keeps the loaded model", async () => {
  const stamps: Record<string, string> = { "/a": "1" };
  let fail = false;
  const errors: string[] = [];
  const store = new ModelStore({
    sources: [{ kind: "file", name: "default", path: "/a" }],
    load: () => {
      if (fail) throw new Error("bad json");
      return "ok";
    },
    cacheSize: null,
    fs: fakeFs({}, stamps),
    onError: (m) => errors.push(m),
  });
  assert.equal(await store.get(), "ok");
  fail = true;
  stamps["/a"] = "2";
  await store.poll();
  assert.equal(await store.get(), "ok");
  assert.equal(errors.length, 1);
});

Deno.test("ModelStore: concurrent first calls share one load", async () => {
  let loads = 0;
  const store = new ModelStore({
    sources: [{ kind: "file", name: "default", path: "/a" }],
    load: async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      return "m";
    },
    cacheSize: null,
    fs: fakeFs({}, {}),
  });
  assert.deepEqual(await Promise.all([store.get(), store.get()]), ["m", "m"]);
  assert.equal(loads, 1);
});
