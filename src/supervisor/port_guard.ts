/**
 * Refuses to start a second server on a port another `cortex serve` holds:
 * listeners use `reusePort` (replicas share the port), so the kernel would
 * otherwise split traffic between two unrelated servers without an error.
 *
 * @module
 */

import { readStateFile, stateFilePath } from "../control/state_file.ts";

/**
 * True when a process with this pid is running. SIGCONT changes nothing for
 * a running process; sending it fails when there is none. (Deno does not
 * let a non -A process read /proc.)
 */
function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/**
 * The pid of a live cortex server on `port`, per its state file, or null
 * (port 0, no file, a stale file, or no way to tell).
 */
export async function serverOnPort(port: number): Promise<number | null> {
  if (port === 0 || Deno.build.os === "windows") return null;
  try {
    const state = await readStateFile(stateFilePath(port));
    return state && alive(state.pid) ? state.pid : null;
  } catch {
    return null;
  }
}
