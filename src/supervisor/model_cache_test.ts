import assert from "node:assert/strict";
import type { Project } from "../config/resolved_config.ts";
import { prepareModelFiles, sha256File } from "./model_cache.ts";

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
