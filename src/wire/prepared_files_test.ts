import assert from "node:assert/strict";
import {
  moduleFlags,
  readModelFiles,
  readPackageDirs,
} from "./prepared_files.ts";

Deno.test("moduleFlags(): no config, the supervisor's import map and lockfile, cached modules only", () => {
  const files = { importMap: "/s/import_map.json", lock: "/s/deno.lock" };
  assert.deepEqual(moduleFlags(files), [
    "--no-config",
    "--import-map=/s/import_map.json",
    "--lock=/s/deno.lock",
    "--cached-only",
  ]);
  assert.deepEqual(moduleFlags(files, { frozen: true }), [
    "--no-config",
    "--import-map=/s/import_map.json",
    "--lock=/s/deno.lock",
    "--frozen",
    "--cached-only",
  ]);
});

Deno.test("prepared files: absent files read as empty, present ones as written", async () => {
  assert.deepEqual(await readPackageDirs(undefined), {});
  assert.deepEqual(await readModelFiles(undefined), {});
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/p.json`,
      JSON.stringify({ "h.ts": ["/n/a"] }),
    );
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({ "https://x/m": "/c/m" }),
    );
    assert.deepEqual(await readPackageDirs(`${dir}/p.json`), {
      "h.ts": ["/n/a"],
    });
    assert.deepEqual(await readModelFiles(`${dir}/m.json`), {
      "https://x/m": "/c/m",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
