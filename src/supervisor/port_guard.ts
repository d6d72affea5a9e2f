/**
 * Refuses to start a second server on a port another `cortex serve` holds:
 * listeners use `reusePort` (replicas share the port), so the kernel would
 * otherwise split traffic between two unrelated servers without an error.
 *
 * The holder is the serving process named in the port's state file. A pid
 * that is gone, a zombie (killed but not yet reaped by its parent: it holds
 * no socket any more), or now a process of another program (the pid was
 * reused) holds nothing.
 *
 * @module
 */

import { basenamePath as basename } from "../path/posix_path.ts";
import { readStateFile, stateFilePath } from "../control/state_file.ts";

/** What `ps` says about a process. */
export interface ProcessInfo {
  /** The state letters, e.g. "S", "R", "Z" (zombie). */
  state: string;
  /** The executable's name, as the kernel keeps it (at most 15 bytes). */
  command: string;
}

/** How the guard looks at processes; replaced in tests. */
export interface GuardProbes {
  /** True when a signal can be sent to `pid` (true for zombies too). */
  signalable(pid: number): boolean;
  /**
   * The process's state and command; null when there is no such process;
   * undefined when it cannot be told (no `ps`).
   */
  describe(pid: number): Promise<ProcessInfo | null | undefined>;
}

/**
 * SIGCONT changes nothing for a running process; sending it fails when there
 * is none. A zombie still takes signals.
 */
function signalable(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/**
 * Asks `ps`: Deno does not let a process without --allow-all read /proc,
 * and the supervisor may run programs but not read /proc.
 */
async function describe(
  pid: number,
): Promise<ProcessInfo | null | undefined> {
  try {
    const out = await new Deno.Command("ps", {
      args: ["-o", "stat=,comm=", "-p", String(pid)],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const line = new TextDecoder().decode(out.stdout).trim();
    // ps exits 1 with no line when there is no such process.
    if (line === "") return out.code === 1 ? null : undefined;
    const [state = "", ...command] = line.split(/\s+/);
    return { state, command: command.join(" ") };
  } catch {
    return undefined;
  }
}

const SYSTEM: GuardProbes = { signalable, describe };

/** Names a serving process runs under: the Deno executable's, cut like the kernel's. */
function denoNames(): Set<string> {
  const names = new Set(["deno"]);
  try {
    names.add(basename(Deno.execPath()).slice(0, 15));
  } catch {
    // No permission to ask: "deno" only.
  }
  return names;
}

/**
 * Whether `pid` is a live serving process: it takes signals, is not a
 * zombie, and runs Deno. When `ps` cannot tell, a signalable pid counts as
 * live (refusing wrongly is safer than splitting traffic).
 */
export async function holdsPort(
  pid: number,
  probes: GuardProbes = SYSTEM,
): Promise<boolean> {
  if (!probes.signalable(pid)) return false;
  const info = await probes.describe(pid);
  if (info === undefined) return true;
  if (info === null) return false;
  if (/^[ZX]/.test(info.state)) return false;
  return info.command === "" || denoNames().has(info.command);
}

/**
 * The pid of a live cortex server on `port`, per its state file, or null
 * (port 0, no file, a stale file, or no way to tell).
 *
 * @param port the HTTP port
 * @param opts `path`: the state file (default: the port's); `probes`: for tests
 */
export async function serverOnPort(
  port: number,
  opts: { path?: string; probes?: GuardProbes } = {},
): Promise<number | null> {
  if (port === 0 || Deno.build.os === "windows") return null;
  try {
    const state = await readStateFile(opts.path ?? stateFilePath(port));
    if (!state) return null;
    return await holdsPort(state.pid, opts.probes) ? state.pid : null;
  } catch {
    return null;
  }
}
