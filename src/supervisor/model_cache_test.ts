import assert from "node:assert/strict";
import type { Project } from "../config/resolved_config.ts";
import { modelCacheDir, prepareModelFiles, sha256File } from "./model_cache.ts";

function projectWith(path: string, sha256: string | null = null): Project {
  return {
    dir: "/p",
    configPath: "/p/cortex.yaml",
    files: [],
    dotenv: {},
    apis: [{
      name: "m",
      handler: {
        models: {
          paths: [{ name: "default", path, sha256 }],
          dir: null,
          cacheSize: null,
          pollIntervalMs: 10_000,
        },
      },
    }],
  } as unknown as Project;
}

Deno.test("prepareModelFiles(): downloads into <cache>/<sha256>, and names the URL when the download fails", async () => {
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/ok"
        ? new Response("weights")
        : new Response("no", { status: 404 }),
  );
  const cache = await Deno.makeTempDir();
  try {
    const base = `http://127.0.0.1:${http.addr.port}`;
    const files = await prepareModelFiles(projectWith(`${base}/ok`), {
      cacheDir: cache,
    });
    const file = files[`${base}/ok`]!;
    assert.equal(file, `${cache}/${await sha256File(file)}`);
    assert.equal(await Deno.readTextFile(file), "weights");
    await assert.rejects(
      () => prepareModelFiles(projectWith(`${base}/gone`), { cacheDir: cache }),
      (e: Error) => {
        assert.equal(
          e.message,
          `API "m": model "default" (${base}/gone, handler.models): cannot download it: HTTP status 404 Not Found`,
        );
        return true;
      },
    );
    // No partial files left behind.
    const names = [...Deno.readDirSync(cache)].map((e) => e.name);
    assert.deepEqual(names, [file.split("/").at(-1)]);
  } finally {
    await http.shutdown();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("prepareModelFiles(): a file planted under the expected hash by someone else is not served", async () => {
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("weights"),
  );
  const cache = await Deno.makeTempDir();
  try {
    const url = `http://127.0.0.1:${http.addr.port}/ok`;
    const real = await prepareModelFiles(projectWith(url), { cacheDir: cache });
    const realSha = await sha256File(real[url]!);
    // Another user's file (here: writable by others) under the real hash.
    const planted = `${cache}/${realSha}`;
    await Deno.remove(planted);
    await Deno.writeTextFile(planted, "evil weights");
    await Deno.chmod(planted, 0o666);
    const files = await prepareModelFiles(projectWith(url, realSha), {
      cacheDir: cache,
    });
    assert.equal(await Deno.readTextFile(files[url]!), "weights");
    // A planted file whose contents do match is fine to serve as is.
    await Deno.chmod(files[url]!, 0o666);
    const again = await prepareModelFiles(projectWith(url, realSha), {
      cacheDir: cache,
    });
    assert.equal(await Deno.readTextFile(again[url]!), "weights");
  } finally {
    await http.shutdown();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("prepareModelFiles(): no shared fallback cache without a home; the error says what to set", async () => {
  const keys = ["CORTEX_MODEL_CACHE", "XDG_CACHE_HOME", "HOME"];
  const saved = keys.map((k) => [k, Deno.env.get(k)] as const);
  try {
    for (const k of keys) Deno.env.delete(k);
    assert.equal(modelCacheDir(), null);
    await assert.rejects(
      () => prepareModelFiles(projectWith("https://example.invalid/m.onnx")),
      (e: Error) => {
        assert.equal(
          e.message,
          `API "m": model "default" (https://example.invalid/m.onnx, handler.models): no model cache to download it into: set CORTEX_MODEL_CACHE (HOME and XDG_CACHE_HOME are unset)`,
        );
        return true;
      },
    );
    Deno.env.set("HOME", "/home/u");
    assert.equal(modelCacheDir(), "/home/u/.cache/cortex/models");
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
  }
});
