/**
 * The command line of a replica of an API, from the project and the
 * serving process's settings: its grants (src/server/permissions.ts), its
 * heap limit and the prepared module graph. One function for the replica
 * pool and for the replicas started before the pool exists
 * (src/server/replica_prestart.ts), so both start the same process.
 *
 * @module
 */

import type { ApiConfig, Project } from "../config/resolved_config.ts";
import type { NetRules } from "../config/net_rules.ts";
import { parseByteSize } from "../config/quantity.ts";
import { workerPermissions } from "./permissions.ts";
import { replicaCommand } from "./replica_command.ts";
import type { ReplicaCommand } from "./replica_process.ts";

/** Memory limit of a replica without `compute.mem`. */
export const DEFAULT_REPLICA_MEMORY = 1024 * 1024 * 1024;

/** The memory limit of each replica of `api`, in bytes (`compute.mem`). */
export function memoryLimitOf(api: ApiConfig): number {
  const mem = api.compute.mem;
  return mem === null
    ? DEFAULT_REPLICA_MEMORY
    : parseByteSize(mem) ?? DEFAULT_REPLICA_MEMORY;
}

let replicaCounter = 0;

/** A new replica id of API `api` (`<api>-<n>`, n unique in this process). */
export function nextReplicaId(api: string): string {
  return `${api}-${++replicaCounter}`;
}

/** A replica's own listener address, when it may have one. */
export type ListenAddress = { hostname: string; port: number };

/** What every replica command of a server depends on. */
export interface LaunchContext {
  project: Project;
  /** What `handler.allow_net` may name (the server's ports as bound). */
  rules: NetRules;
  /** The replica socket's address. */
  socket: string;
  /** The prepared module graph (`cortex serve`). */
  modules?: {
    importMap: string;
    lock: string;
    packages?: Record<string, string[]>;
  };
  /** `handler.models` URL → downloaded file. */
  modelFiles?: Record<string, string>;
}

/**
 * A replica process could be started with any grant, unlike a Worker, which
 * cannot exceed its parent: so a replica gets no network access that this
 * process was not given at start (a patched or deployed `allow_net` takes a
 * restart of `serve`).
 */
function checkNetWithinOwn(api: ApiConfig): void {
  for (const host of api.handler.allowNet) {
    if (Deno.permissions.querySync({ name: "net", host }).state !== "granted") {
      throw new Error(
        `Cannot grant API "${api.name}" net access to "${host}" (handler.allow_net): this server was not started with it; restart serve with the project that names it`,
      );
    }
  }
}

/** The downloaded files of `api`'s model URLs. */
function modelFilesOf(
  api: ApiConfig,
  files: Record<string, string> | undefined,
): string[] {
  return (api.handler.models?.paths ?? []).flatMap((m) =>
    files?.[m.path] ?? []
  );
}

/** The command of a replica of `api` with scratch directory `scratchDir`. */
export function replicaLaunch(
  ctx: LaunchContext,
  api: ApiConfig,
  scratchDir: string,
  listen: ListenAddress | null,
): ReplicaCommand {
  checkNetWithinOwn(api);
  return replicaCommand({
    permissions: workerPermissions(
      ctx.project,
      api,
      scratchDir,
      listen,
      ctx.rules,
      ctx.modules?.packages?.[api.handler.path] ?? [],
      modelFilesOf(api, ctx.modelFiles),
    ),
    socket: ctx.socket,
    memoryBytes: memoryLimitOf(api),
    cwd: ctx.project.dir,
    modules: ctx.modules,
  });
}
