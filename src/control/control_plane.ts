/**
 * The control plane of a running server: token, loopback listener and state
 * file. Started before the server (replicas need its URL and token for
 * `ctx.client`); the state file is written once the HTTP port is known.
 *
 * @module
 */

import { type ControlServer, startControlServer } from "./control_server.ts";
import type { ControlTarget } from "./control_target.ts";
import {
  type EnvGetter,
  removeStateFile,
  stateFilePath,
  writeStateFile,
} from "./state_file.ts";
import { resolveToken } from "./token.ts";

/** Options of {@linkcode startControlPlane}. */
export interface ControlPlaneOptions {
  target: ControlTarget;
  /** `--control-port` (0: a free port). */
  port: number;
  /**
   * Share a fixed port with the next serving process while the supervisor
   * replaces this one (SO_REUSEPORT; Linux: same user only).
   */
  reusePort?: boolean;
  /** Reads `CORTEX_CONTROL_TOKEN`, `XDG_RUNTIME_DIR`, `HOME` (default `Deno.env.get`). */
  env?: EnvGetter;
  /**
   * The token, when the supervisor gave it (on stdin: never in the serving
   * process's environment); else from `CORTEX_CONTROL_TOKEN` or new.
   */
  token?: string;
}

/** A started control plane. */
export interface ControlPlane extends ControlServer {
  token: string;
  /** For `ServerOptions.control` / `ReplicaInit.control` (ctx.client). */
  endpoint: { url: string; token: string };
  /**
   * Writes the state file (mode 0600) that lets `cortex get|deploy|...` of
   * the same user find this server.
   *
   * @returns The path written, or an error message when it could not be.
   */
  writeState(
    info: { httpPort: number; projectDir: string },
  ): Promise<{ path: string | null; error: string | null }>;
  /** Removes the state file, ends log streams and stops listening. */
  shutdown(): Promise<void>;
}

/**
 * Starts the control API on 127.0.0.1.
 *
 * @param opts The target, port and environment.
 * @returns The running control plane.
 * @throws {RangeError} When `CORTEX_CONTROL_TOKEN` is set but too short.
 */
export async function startControlPlane(
  opts: ControlPlaneOptions,
): Promise<ControlPlane> {
  const token = opts.token ?? resolveToken(opts.env);
  const server = await startControlServer({
    target: opts.target,
    token,
    port: opts.port,
    reusePort: opts.reusePort,
  });
  let statePath: string | null = null;
  return {
    ...server,
    token,
    endpoint: { url: server.url, token },
    async writeState({ httpPort, projectDir }) {
      try {
        const path = stateFilePath(httpPort, opts.env);
        await writeStateFile(path, {
          httpPort,
          controlPort: server.port,
          url: server.url,
          token,
          pid: Deno.pid,
          projectDir,
          startedAt: new Date().toISOString(),
        });
        statePath = path;
        return { path, error: null };
      } catch (error) {
        return { path: null, error: (error as Error).message };
      }
    },
    async shutdown() {
      if (statePath !== null) await removeStateFile(statePath, token);
      await server.shutdown();
    },
  };
}
