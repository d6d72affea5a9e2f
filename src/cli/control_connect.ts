/**
 * How the control commands find a running server: `--control-url` (or
 * `CORTEX_CONTROL_URL`) with the token from `CORTEX_CONTROL_TOKEN`, else the
 * state file of the server on `--server-port` (default 8888).
 *
 * @module
 */

import { CortexClient } from "../control/client.ts";
import { readStateFile, stateFilePath } from "../control/state_file.ts";
import { TOKEN_ENV } from "../control/token.ts";
import { UsageError } from "../wire/serve_options.ts";

/** Raised when no running server can be found (exit code 1). */
export class ServerNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerNotFoundError";
  }
}

/** Flags every control command takes. */
export interface ConnectFlags {
  "server-port"?: string | undefined;
  "control-url"?: string | undefined;
}

/** The `parseArgs` options of {@linkcode ConnectFlags}. */
export const CONNECT_FLAGS = {
  "server-port": { type: "string" },
  "control-url": { type: "string" },
} as const;

/** Help lines of {@linkcode CONNECT_FLAGS}. */
export const CONNECT_HELP =
  `  --server-port N       HTTP port of the server to manage (default 8888)
  --control-url URL     Control API URL instead (env CORTEX_CONTROL_URL);
                        the token comes from env ${TOKEN_ENV}`;

/**
 * Builds a client for the server the flags point at.
 *
 * @param flags Parsed flags.
 * @param env Reads variables.
 * @throws {UsageError} For a bad port or a URL without a token.
 * @throws {ServerNotFoundError} When there is no state file for the port.
 */
export async function connect(
  flags: ConnectFlags,
  env: (name: string) => string | undefined,
): Promise<CortexClient> {
  const url = flags["control-url"] ?? env("CORTEX_CONTROL_URL");
  if (url !== undefined && url !== "") {
    const token = env(TOKEN_ENV);
    if (!token) {
      throw new UsageError(
        `Option --control-url needs the token: set ${TOKEN_ENV}`,
      );
    }
    try {
      new URL(url);
    } catch {
      throw new UsageError(
        `Option --control-url is "${url}": expected a URL such as http://127.0.0.1:41234`,
      );
    }
    return new CortexClient({ url, token });
  }
  const raw = flags["server-port"] ?? "8888";
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(
      `Option --server-port is "${raw}": expected a port number 1-65535`,
    );
  }
  const path = stateFilePath(port, env);
  const state = await readStateFile(path);
  if (state === null) {
    throw new ServerNotFoundError(
      `No running server found on port ${port}: no state file "${path}"; start one with "cortex serve <project>", or pass --server-port or --control-url`,
    );
  }
  return new CortexClient({ url: state.url, token: state.token });
}
