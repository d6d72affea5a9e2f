import assert from "node:assert/strict";
import { normalisePath, resolveIn } from "./relative_paths.ts";

Deno.test("resolveIn() resolves relative string paths against the directory", async (t) => {
  const cases: [unknown, unknown][] = [
    ["values.json", "/p/values.json"],
    ["./data/x.bin", "/p/data/x.bin"],
    ["../outside", "/outside"],
    ["/etc/hostname", "/etc/hostname"],
    ["", ""],
  ];
  for (const [path, want] of cases) {
    await t.step(String(path), () => assert.equal(resolveIn("/p", path), want));
  }
  const url = new URL("file:///x");
  assert.equal(resolveIn("/p", url), url);
});

Deno.test("normalisePath() removes dot segments", () => {
  assert.equal(normalisePath("/a/./b//c/../d"), "/a/b/d");
  assert.equal(normalisePath("/../a"), "/a");
});

Deno.test("installRelativePaths() makes Deno file APIs and cwd resolve against the project in a worker", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex-relpaths-" });
  try {
    await Deno.writeTextFile(`${dir}/values.json`, '{"ok":true}');
    const worker = new Worker(
      new URL("./testdata/relative_paths_worker.ts", import.meta.url),
      { type: "module" },
    );
    worker.postMessage(dir);
    const msg = await new Promise<Record<string, unknown>>(
      (resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new Error(e.message));
        };
      },
    );
    worker.terminate();
    assert.deepEqual(msg, {
      text: '{"ok":true}',
      isFile: true,
      cwd: dir,
    });
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "w");
    assert.notEqual(Deno.cwd(), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
