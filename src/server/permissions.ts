/**
 * The Deno permissions of a replica process: the narrowest set that lets the
 * handler do its job (README "Permissions and the sandbox", SECURITY.md).
 *
 * @module
 */

import { joinPath as join } from "../path/posix_path.ts";
import type { ApiConfig, Project } from "../config/resolved_config.ts";
import { netEntryProblem, type NetRules } from "../config/net_rules.ts";

/** A replica's grants, turned into `deno run` flags by replica_command.ts. */
export interface ReplicaPermissions {
  read: string[];
  write: string[];
  net: string[] | false;
  env: false;
  run: false;
  ffi: false;
  sys: false;
}

/**
 * Read: each available project file (so dotfiles, cortex.yaml and ignored
 * files stay unreadable even inside the project) and the scratch directory.
 * Deno checks a read grant against the path given, not a link's target, so a
 * link is listed (and granted) only when its real target is itself a project
 * file (src/config/project_files.ts).
 * Also read (read-only): `packageDirs`, what the handler's module graph
 * reads (src/supervisor/modules.ts `readPathsOf`): the folders in Deno's
 * npm cache of its npm packages, since packages read their own files
 * (onnxruntime-web its `.wasm`) with `node:fs`, never the rest of the
 * cache; and each file it byte-imports (`with { type: "bytes" }`), which
 * Deno reads with the replica's permissions.
 * Also read (read-only): the folder of `handler.models.dir` (versions are
 * added to it while serving) and `modelFiles`, the downloaded files of the
 * API's `handler.models` URLs in the supervisor's model cache.
 * Write: the scratch directory. Net: `handler.allow_net`, each entry checked
 * again against the server's rules (loopback only with
 * --allow-loopback-net, never the server's own ports), plus the serving
 * port so the replica can run its own listener. Never the control API:
 * `ctx.client` calls go to the main thread. Env: none (the handler's
 * variables are provided in-process). No run, ffi or sys.
 *
 * @throws {Error} When an `allow_net` entry breaks the server's rules (it
 *   was validated on its way in; this is the last line).
 */
export function workerPermissions(
  project: Project,
  api: ApiConfig,
  scratchDir: string,
  listen: { hostname: string; port: number } | null,
  rules: NetRules,
  packageDirs: string[] = [],
  modelFiles: string[] = [],
): ReplicaPermissions {
  const net = api.handler.allowNet.map((entry) => {
    const problem = netEntryProblem(entry, rules);
    if (problem === null) return entry;
    throw new Error(
      `Cannot grant API "${api.name}" net access to "${entry}" (handler.allow_net): ${problem}`,
    );
  });
  if (listen) {
    const host = listen.hostname.includes(":")
      ? `[${listen.hostname}]` // IPv6 literals need brackets before a port
      : listen.hostname;
    net.push(`${host}:${listen.port}`);
  }
  return {
    read: [
      ...project.files.map((f) => join(project.dir, f)),
      scratchDir,
      ...packageDirs,
      ...(api.handler.models?.dir
        ? [join(project.dir, api.handler.models.dir)]
        : []),
      ...modelFiles,
    ],
    write: [scratchDir],
    net: net.length > 0 ? net : false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
  };
}
