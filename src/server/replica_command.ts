/**
 * The command line of a replica process: `deno run` with the replica's own
 * narrow permissions (src/server/permissions.ts), its heap limit
 * (`compute.mem`) and the replica entry point. Grants for the replica socket
 * are given up by the replica before any handler code loads.
 *
 * @module
 */

import { filePath } from "../path/posix_path.ts";
import type { ReplicaCommand } from "./replica_process.ts";
import type { ReplicaPermissions } from "./permissions.ts";
import { moduleFlags, RAW_IMPORTS_FLAG } from "../wire/prepared_files.ts";
import { BINARY_REPLICA_ROLE } from "../wire/replica_process_args.ts";

/** The replica process's entry module. */
export const REPLICA_MAIN = filePath(
  new URL("../replica/process_main.ts", import.meta.url),
);

/** The runtime's deno.json: its import map resolves `cortex` for handlers. */
export const RUNTIME_CONFIG = filePath(
  new URL("../../deno.json", import.meta.url),
);

/** True inside a `deno compile` binary (its main module is embedded). */
export function isCompiledBinary(): boolean {
  return /\/deno-compile-/.test(Deno.mainModule);
}

/** Deno's list flags separate entries with commas; a comma in a path doubles. */
function list(entries: string[]): string {
  return entries.map((e) => e.replaceAll(",", ",,")).join(",");
}

/** Options of {@linkcode replicaCommand}. */
export interface ReplicaCommandOptions {
  permissions: ReplicaPermissions;
  /** The serving process's replica socket: `unix:<path>` or `host:port`. */
  socket: string;
  /** Heap limit in bytes. */
  memoryBytes: number;
  /** Working directory (the project directory). */
  cwd: string;
  /** The prepared module graph (`cortex serve`), else the runtime's deno.json. */
  modules?: { importMap: string; lock: string };
}

/** `deno run` of the replica entry with exactly the replica's grants. */
export function replicaCommand(opts: ReplicaCommandOptions): ReplicaCommand {
  const p = opts.permissions;
  const net = [...(p.net || []), opts.socket];
  // Connecting to a Unix socket also takes read and write access to its path.
  const path = opts.socket.startsWith("unix:") ? [opts.socket.slice(5)] : [];
  if (isCompiledBinary()) {
    // A compiled binary starts itself; the replica gives up what it must
    // not have before the handler loads (src/compile/binary_main.ts).
    return {
      command: Deno.execPath(),
      cwd: opts.cwd,
      args: [BINARY_REPLICA_ROLE],
    };
  }
  return {
    command: Deno.execPath(),
    cwd: opts.cwd,
    args: [
      "run",
      "--unstable-net",
      "--unstable-no-legacy-abort",
      RAW_IMPORTS_FLAG,
      "--no-prompt",
      // One replica per process: --frozen refuses any import outside the
      // prepared graph, and in Deno that failure stays in this process.
      ...(opts.modules
        ? moduleFlags(opts.modules, { frozen: true })
        : [`--config=${RUNTIME_CONFIG}`]),
      `--allow-read=${list([...p.read, ...path])}`,
      `--allow-write=${list([...p.write, ...path])}`,
      `--allow-net=${list(net)}`,
      `--v8-flags=--max-old-space-size=${
        Math.max(16, Math.floor(opts.memoryBytes / 2 ** 20))
      }`,
      REPLICA_MAIN,
    ],
  };
}
