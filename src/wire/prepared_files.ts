/**
 * What the supervisor prepares before a serving process starts, as the
 * serving process and its replicas read it: the module graph (an import
 * map and a lockfile, used through {@linkcode moduleFlags}), each handler's
 * npm package folders and byte-imported files, and the downloaded
 * `handler.models` files.
 *
 * @module
 */

/**
 * Handler path → the npm package folders and the byte-imported files of its
 * module graph.
 */
export type PackageDirs = Record<string, string[]>;

/**
 * Byte and text imports (`import model from "./model.onnx" with { type:
 * "bytes" }`): the compile-safe way to embed a model or a `.wasm` in a
 * handler. Every step that builds or loads a handler's module graph (cache,
 * info, check, replicas, compile) runs with it, so they agree on the graph.
 */
export const RAW_IMPORTS_FLAG = "--unstable-raw-imports";

/**
 * How the serving process loads modules (src/supervisor/modules.ts): no
 * config file (the runtime's deno.json would leak its imports to handlers
 * and take its deno.lock), the import map and the lockfile the supervisor
 * wrote into the scratch root, and nothing from the network: a module that
 * is neither in the graph cached before serving nor already in Deno's cache
 * fails instead of being downloaded.
 *
 * `frozen` also refuses a package that is in Deno's cache but not in the
 * lockfile. It is off while replicas are Workers of one process: in Deno
 * 2.9.6 one refused import leaves the process's lockfile "out of date", and
 * every later module load of the process fails, so one API's import would
 * stop every API's new replicas from loading their handlers (measured). A
 * process that serves one API only may turn it on.
 */
export function moduleFlags(
  files: { importMap: string; lock: string },
  opts: { frozen?: boolean } = {},
): string[] {
  return [
    "--no-config",
    `--import-map=${files.importMap}`,
    `--lock=${files.lock}`,
    ...(opts.frozen ? ["--frozen"] : []),
    "--cached-only",
  ];
}

/** Reads the `--packages-file` the supervisor wrote ({} when absent). */
export async function readPackageDirs(
  path: string | undefined,
): Promise<PackageDirs> {
  if (path === undefined) return {};
  return JSON.parse(await Deno.readTextFile(path)) as PackageDirs;
}

/** Reads the `--models-file` the supervisor wrote ({} when absent). */
export async function readModelFiles(
  path: string | undefined,
): Promise<Record<string, string>> {
  if (path === undefined) return {};
  return JSON.parse(await Deno.readTextFile(path));
}
