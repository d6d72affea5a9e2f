/**
 * The permission flags a compiled binary carries, built from the serving
 * process's own (src/supervisor/flags.ts), and the same flags for running
 * the generated entry with `deno run`.
 *
 * In a compiled binary the project, the runtime and the npm packages live in
 * the embedded file system, which Deno makes readable without a flag. So
 * the binary reads only its scratch root from disk; under `deno run` the
 * build directory and the runtime's modules take the embedded tree's place.
 *
 * @module
 */

import type { Project } from "../config/resolved_config.ts";
import {
  keysEnvNames,
  netGrants,
  RUNTIME_PATHS,
  SERVER_ENV,
  UNSTABLE_FLAGS,
} from "../supervisor/flags.ts";

/** What the binary's flags depend on. */
export interface BinaryFlagsOptions {
  /** Address the binary listens on (its `--host`, default 0.0.0.0). */
  hostname: string;
  /** Scratch root on disk, e.g. `/tmp/cortex-iris`: the only path read and written. */
  scratchRoot: string;
}

/** Loopback, for `--healthcheck` and for `--host 127.0.0.1`. */
export const LOOPBACK = "127.0.0.1";

/**
 * Net grants of a binary: its listening host and loopback on any port (the
 * ports are chosen when the binary starts, with `--port` and `--grpc-port`),
 * and every API's `handler.allow_net`, loopback entries included: whether a
 * replica gets them is decided when the binary runs (`--allow-loopback-net`,
 * its own ports; src/server/permissions.ts).
 */
export function binaryNetGrants(project: Project, hostname: string): string[] {
  const listen = {
    hostname,
    port: 0,
    grpcPort: 0,
    controlPort: null,
    allowLoopbackNet: true,
  };
  const grants = new Set(netGrants(project, listen));
  grants.add(LOOPBACK);
  return [...grants];
}

/**
 * The flags baked into the binary: unstable features, then read and write
 * of the scratch root only, the net grants and the server's variables.
 *
 * @param project The project being compiled.
 * @param opts The listening host and the scratch root.
 * @returns Flags in the order `deno compile` takes them.
 */
export function binaryPermissionFlags(
  project: Project,
  opts: BinaryFlagsOptions,
): string[] {
  return [
    ...UNSTABLE_FLAGS,
    `--allow-read=${opts.scratchRoot}`,
    `--allow-write=${opts.scratchRoot}`,
    `--allow-net=${binaryNetGrants(project, opts.hostname).join(",")}`,
    // The API keys' variables (networking.auth.keys_env) too: an API whose
    // keys cannot be read does not start.
    `--allow-env=${[...SERVER_ENV, ...keysEnvNames(project)].join(",")}`,
    // Replicas are processes of the binary itself, whose path is known only
    // when it runs; each gives up `run` before its handler loads.
    "--allow-run",
    "--no-prompt",
  ];
}

/**
 * The binary's flags for `deno run` of the generated entry: read access is
 * extended to what the binary has embedded (the build directory and the
 * runtime's modules); everything else is unchanged.
 *
 * @param flags The binary's flags.
 * @param buildDir The build directory that holds the entry and the project copy.
 */
export function runPermissionFlags(
  flags: string[],
  buildDir: string,
): string[] {
  return flags.map((flag) =>
    flag.startsWith("--allow-read=")
      ? [flag, buildDir, ...RUNTIME_PATHS].join(",")
      : flag
  );
}
