/**
 * The state file of a running server: where its control API listens and the
 * token it requires, readable only by the user (mode 0600) so the CLI of the
 * same user can find the server and nobody else can.
 *
 * @module
 */

import {
  dirnamePath as dirname,
  joinPath as join,
} from "../path/posix_path.ts";

/** What a server writes about itself. */
export interface ControlState {
  /** The HTTP (serving) port; the file is named after it. */
  httpPort: number;
  /** The control API port on 127.0.0.1. */
  controlPort: number;
  /** `http://127.0.0.1:<controlPort>`. */
  url: string;
  token: string;
  pid: number;
  projectDir: string;
  /** ISO time the server started. */
  startedAt: string;
}

/** Reads an environment variable; returns undefined when unset or not allowed. */
export type EnvGetter = (name: string) => string | undefined;

function defaultEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The state file for the server on `httpPort`:
 * `$XDG_RUNTIME_DIR/cortex/<port>.json`, else `~/.cortex/servers/<port>.json`.
 *
 * @param httpPort The server's HTTP port.
 * @param env Reads `XDG_RUNTIME_DIR`, `HOME` and `USERPROFILE`.
 * @returns The absolute path.
 * @throws {TypeError} When neither `XDG_RUNTIME_DIR` nor a home directory is set.
 */
export function stateFilePath(
  httpPort: number,
  env: EnvGetter = defaultEnv,
): string {
  const runtimeDir = env("XDG_RUNTIME_DIR");
  if (runtimeDir) return join(runtimeDir, "cortex", `${httpPort}.json`);
  const home = env("HOME") || env("USERPROFILE");
  if (!home) {
    throw new TypeError(
      "Cannot locate the server state file: neither XDG_RUNTIME_DIR nor HOME is set",
    );
  }
  return join(home, ".cortex", "servers", `${httpPort}.json`);
}

const POSIX = Deno.build.os !== "windows";

/**
 * Writes the state file atomically with mode 0600 (its folder 0700).
 *
 * @param path From {@linkcode stateFilePath}.
 * @param state What to write.
 */
export async function writeStateFile(
  path: string,
  state: ControlState,
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.remove(tmp).catch(() => {});
  await Deno.writeTextFile(tmp, JSON.stringify(state, null, 2) + "\n", {
    mode: 0o600,
    createNew: true,
  });
  // The umask may have narrowed it; it must not be wider.
  if (POSIX) await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

/**
 * Reads a state file.
 *
 * @returns The state, or null when there is no such file.
 * @throws {SyntaxError} When the file is not a state file.
 */
export async function readStateFile(
  path: string,
): Promise<ControlState | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const data: unknown = JSON.parse(text);
  const s = data as Partial<ControlState> | null;
  if (
    typeof s !== "object" || s === null || typeof s.url !== "string" ||
    typeof s.token !== "string" || typeof s.controlPort !== "number"
  ) {
    throw new SyntaxError(
      `Cannot read state file "${path}": expected url, token and controlPort`,
    );
  }
  return s as ControlState;
}

/**
 * Removes the state file if it still describes this server (another server
 * may have started on the same port since).
 *
 * @param path From {@linkcode stateFilePath}.
 * @param token This server's token.
 * @param pid The serving process's pid, when a newer one may hold the same
 * token (a serving process replaced by the supervisor).
 */
export async function removeStateFile(
  path: string,
  token: string,
  pid?: number,
): Promise<void> {
  const state = await readStateFile(path).catch(() => null);
  if (state?.token !== token) return;
  if (pid !== undefined && state.pid !== pid) return;
  await Deno.remove(path).catch(() => {});
}
