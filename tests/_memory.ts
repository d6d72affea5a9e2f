/**
 * Resident memory of a server's processes, for end-to-end tests that bound
 * what a process may be made to hold: read from /proc/<pid>/status through
 * `sh` (Deno only lets `--allow-all` read /proc directly), sampled while an
 * attack runs.
 *
 * @module
 */

import { servingProcesses } from "./_supervisor.ts";

const MIB = 1 << 20;

/** The resident memory of `pid` in bytes (VmRSS), or 0 once it is gone. */
export async function rssOf(pid: number): Promise<number> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `grep -s '^VmRSS:' /proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const kb = /(\d+)\s*kB/.exec(new TextDecoder().decode(out.stdout));
  return kb ? Number(kb[1]) * 1024 : 0;
}

/** The serving process of the supervisor `supervisorPid` (there must be one). */
export async function servingPidOf(supervisorPid: number): Promise<number> {
  const [pid, ...more] = await servingProcesses(supervisorPid);
  if (pid === undefined || more.length > 0) {
    throw new Error(
      `Supervisor ${supervisorPid} has ${
        more.length + (pid ? 1 : 0)
      } serving processes, not 1`,
    );
  }
  return pid;
}

/** Samples a process's resident memory until stopped; keeps the highest. */
export class RssPeak {
  readonly #pid: number;
  readonly baseline: number;
  #peak: number;
  #running = true;
  readonly #done: Promise<void>;

  private constructor(pid: number, baseline: number) {
    this.#pid = pid;
    this.baseline = baseline;
    this.#peak = baseline;
    this.#done = this.#sample();
  }

  /** Starts sampling `pid` every 25 ms, from its memory now. */
  static async start(pid: number): Promise<RssPeak> {
    return new RssPeak(pid, await rssOf(pid));
  }

  async #sample(): Promise<void> {
    while (this.#running) {
      this.#peak = Math.max(this.#peak, await rssOf(this.#pid));
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Stops sampling; resolves with the peak's growth over the baseline, in MiB. */
  async stop(): Promise<number> {
    this.#running = false;
    await this.#done;
    return Math.round((this.#peak - this.baseline) / MIB);
  }
}
