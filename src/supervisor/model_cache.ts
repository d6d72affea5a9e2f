/**
 * `handler.models` URLs, downloaded by the supervisor before serving into a
 * content-addressed cache (`<cache>/<sha256>`) shared by every replica and
 * serving process, which only read them.
 *
 * The supervisor has no network: each download is a short-lived
 * `deno run --allow-net=<that URL's host> --allow-write=<one temporary
 * file>` (src/supervisor/fetch_model_main.ts). A URL with a `sha256` whose
 * file is already in the cache is not downloaded again (nor hashed again
 * when the file is this user's and nobody else may write it; any other is
 * hashed, and downloaded again unless it matches); one without is downloaded
 * at every start (its content may have changed). A downloaded file is hashed
 * and checked before anything serves. Without a known home there is no
 * cache, and a model URL is refused with what to set.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Project } from "../config/resolved_config.ts";
import { isModelUrl } from "../config/models_config.ts";
import { fetchModelArgv } from "../wire/fetch_model_args.ts";
import { trusted } from "./prepare_cache.ts";

const FETCH_MAIN = new URL("./fetch_model_main.ts", import.meta.url).pathname;

/**
 * The model cache: `$CORTEX_MODEL_CACHE`, else `$XDG_CACHE_HOME/cortex/models`,
 * else `~/.cache/cortex/models`; null when no home is known (a shared
 * fallback such as /tmp could be prepared by another user).
 */
export function modelCacheDir(): string | null {
  const own = Deno.env.get("CORTEX_MODEL_CACHE");
  if (own) return own;
  const home = Deno.env.get("HOME");
  const xdg = Deno.env.get("XDG_CACHE_HOME") ||
    (home ? join(home, ".cache") : null);
  return xdg === null ? null : join(xdg, "cortex", "models");
}

/** SHA-256 of a file, lower-case hex, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** The net grant of a URL: its host and port. */
function hostOf(url: URL): string {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${url.hostname}:${port}`;
}

/**
 * Downloads and checks every model URL of the project's APIs (those
 * `onlyApi` selects). Resolves with URL → cached file.
 *
 * @throws {Error} When a download fails or a file's SHA-256 is not the one
 *   cortex.yaml gives (naming the API, the model, the URL and both hashes).
 */
export async function prepareModelFiles(
  project: Project,
  opts: { cacheDir?: string; onlyApi?: string } = {},
): Promise<Record<string, string>> {
  const cache = opts.cacheDir ?? modelCacheDir();
  const out: Record<string, string> = {};
  for (const api of project.apis) {
    if (opts.onlyApi && api.name !== opts.onlyApi) continue;
    for (const model of api.handler.models?.paths ?? []) {
      if (!isModelUrl(model.path)) continue;
      const what =
        `API "${api.name}": model "${model.name}" (${model.path}, handler.models)`;
      if (cache === null) {
        throw new Error(
          `${what}: no model cache to download it into: set CORTEX_MODEL_CACHE (HOME and XDG_CACHE_HOME are unset)`,
        );
      }
      if (model.sha256 !== null) {
        const cached = join(cache, model.sha256);
        if (await usableCached(cached, model.sha256)) {
          out[model.path] = cached;
          continue;
        }
      }
      await Deno.mkdir(cache, { recursive: true, mode: 0o700 });
      const tmp = await Deno.makeTempFile({ dir: cache, prefix: ".part-" });
      try {
        await download(model.path, tmp, what);
        const got = await sha256File(tmp);
        if (model.sha256 !== null && got !== model.sha256) {
          throw new Error(
            `${what}: the downloaded file's SHA-256 is ${got}, but cortex.yaml expects ${model.sha256}; not serving it`,
          );
        }
        const file = join(cache, got);
        await Deno.rename(tmp, file);
        await Deno.chmod(file, 0o444).catch(() => {});
        out[model.path] = file;
      } finally {
        await Deno.remove(tmp).catch(() => {});
      }
    }
  }
  return out;
}

async function download(url: string, tmp: string, what: string) {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--no-config",
      `--allow-net=${hostOf(new URL(url))}`,
      `--allow-write=${tmp}`,
      FETCH_MAIN,
      ...fetchModelArgv.toArgv({ url, out: tmp }),
    ],
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).output();
  if (code !== 0) {
    const text = new TextDecoder().decode(stderr).trim().split("\n").at(-1);
    throw new Error(`${what}: cannot download it: ${text}`);
  }
}

/**
 * Whether the cached file of `sha256` can be served without a download: a
 * file this user owns and nobody else may write is trusted as named (it was
 * hashed when stored); any other (planted by whoever could write the
 * folder) only if its contents hash to `sha256`.
 */
async function usableCached(path: string, sha256: string): Promise<boolean> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) return false;
    return await trusted(info) || await sha256File(path) === sha256;
  } catch {
    return false;
  }
}
