/**
 * Process helpers: running tools, spawning servers whose output is drained,
 * walking /proc for the serving process and its memory, and waiting for a
 * server to answer.
 *
 * @module
 */

/** Output of a finished command. */
export interface Collected {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` to completion and collects its output. */
export async function collect(
  cmd: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Collected> {
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    cwd: opts.cwd,
    env: opts.env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** Keeps the last `limit` bytes of a stream as text, for error messages. */
class Tail {
  #chunks: Uint8Array[] = [];
  #size = 0;
  constructor(readonly limit: number) {}
  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#size += chunk.byteLength;
    while (this.#size - this.#chunks[0]!.byteLength > this.limit) {
      this.#size -= this.#chunks.shift()!.byteLength;
    }
  }
  text(): string {
    const all = new Uint8Array(this.#size);
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.byteLength;
    }
    return new TextDecoder().decode(
      all.subarray(Math.max(0, this.#size - this.limit)),
    );
  }
}

/** Counters of a drained output stream. */
export interface Drained {
  bytes: number;
  lines: number;
}

const NL = 10;

async function drain(
  stream: ReadableStream<Uint8Array>,
  counts: Drained,
  tail: Tail,
): Promise<void> {
  for await (const chunk of stream) {
    counts.bytes += chunk.byteLength;
    let at = chunk.indexOf(NL);
    while (at !== -1) {
      counts.lines++;
      at = chunk.indexOf(NL, at + 1);
    }
    tail.push(chunk);
  }
}

/**
 * A long-running child whose stdout and stderr go through pipes that this
 * process drains (counting bytes and lines), as a log shipper would.
 */
export class Spawned {
  readonly child: Deno.ChildProcess;
  readonly stdout: Drained = { bytes: 0, lines: 0 };
  readonly stderr: Drained = { bytes: 0, lines: 0 };
  readonly startedAt: number;
  readonly #outTail = new Tail(16_384);
  readonly #errTail = new Tail(16_384);
  readonly #drained: Promise<unknown>;
  exited = false;

  constructor(
    cmd: string[],
    opts: { cwd?: string; env?: Record<string, string> } = {},
  ) {
    this.startedAt = performance.now();
    this.child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      cwd: opts.cwd,
      env: opts.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#drained = Promise.all([
      drain(this.child.stdout, this.stdout, this.#outTail),
      drain(this.child.stderr, this.stderr, this.#errTail),
    ]);
    this.child.status.then(() => this.exited = true);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** The last lines of stdout and stderr. */
  output(): string {
    return `${this.#outTail.text()}\n${this.#errTail.text()}`.trim();
  }

  /**
   * Stops the process tree: SIGTERM to `pids` (default: the child), then
   * SIGKILL to the whole tree after `graceMs`.
   */
  async stop(pids: number[] = [this.pid], graceMs = 5_000): Promise<void> {
    const tree = [this.pid, ...await descendants(this.pid)];
    for (const pid of pids) signal(pid, "SIGTERM");
    const timer = setTimeout(() => {
      for (const pid of tree) signal(pid, "SIGKILL");
    }, graceMs);
    await this.child.status;
    clearTimeout(timer);
    // A child that outlived its parent (should not happen) is killed too.
    for (const pid of tree) signal(pid, "SIGKILL");
    await this.#drained.catch(() => {});
  }
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Parses the pid list of a /proc/<pid>/task/<tid>/children file. */
export function parsePidList(text: string): number[] {
  return text.split(/\s+/).filter((s) => s !== "").map(Number);
}

/**
 * Reads a /proc file. Deno 2.9 asks for --allow-all to read /proc, which the
 * bench task does not have, so it falls back to `cat` (--allow-run).
 */
export async function readProc(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
  }
  const { code, stdout, stderr } = await collect(["cat", path]);
  if (code !== 0) {
    throw new Deno.errors.NotFound(`Cannot read "${path}": ${stderr.trim()}`);
  }
  return stdout;
}

/** Direct children of `pid`, from /proc/<pid>/task/*\/children. */
export async function childrenOf(pid: number): Promise<number[]> {
  const { stdout } = await collect([
    "sh",
    "-c",
    'cat /proc/"$1"/task/*/children 2>/dev/null; exit 0',
    "sh",
    String(pid),
  ]);
  return parsePidList(stdout);
}

/** All descendants of `pid`, parents before children. */
export async function descendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  const queue = await childrenOf(pid);
  while (queue.length > 0) {
    const next = queue.shift()!;
    out.push(next);
    queue.push(...await childrenOf(next));
  }
  return out;
}

/** Reads `VmRSS` (in KiB) from the text of /proc/<pid>/status. */
export function parseVmRssKb(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) {
    throw new SyntaxError("Cannot read VmRSS: no such line in /proc status");
  }
  return Number(m[1]);
}

/** Resident set size of `pid` in MB (10^6 bytes). */
export async function rssMB(pid: number): Promise<number> {
  return parseVmRssKb(await readProc(`/proc/${pid}/status`)) * 1024 / 1e6;
}

/**
 * Resident set size of `pid` and every process below it in MB: the serving
 * process with its replica processes.
 */
export async function treeRssMB(pid: number): Promise<number> {
  let total = await rssMB(pid);
  for (const child of await descendants(pid)) {
    total += await rssMB(child).catch(() => 0);
  }
  return total;
}

/**
 * Private memory (`Private_Clean` + `Private_Dirty`, in KiB) from the text of
 * /proc/<pid>/smaps_rollup: what the process alone holds, without the pages
 * it shares with other processes (the deno binary's code above all).
 */
export function parsePrivateKb(smapsRollup: string): number {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(smapsRollup);
    if (!m) {
      throw new SyntaxError(
        `Cannot read ${name}: no such line in smaps_rollup`,
      );
    }
    return Number(m[1]);
  };
  return field("Private_Clean") + field("Private_Dirty");
}

/**
 * Private memory of `pid` and every process below it in MB: the memory an
 * extra replica process really adds (its RSS counts shared pages too).
 */
export async function treePrivateMB(pid: number): Promise<number> {
  let totalKb = 0;
  for (const p of [pid, ...await descendants(pid)]) {
    totalKb += await readProc(`/proc/${p}/smaps_rollup`)
      .then(parsePrivateKb, () => 0);
  }
  return totalKb * 1024 / 1e6;
}

/** A TCP port that is free right now on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `url` until it answers 200; resolves with the time that took.
 *
 * @throws {Error} when `timeoutMs` passes first, or `alive()` turns false
 */
export async function waitFor200(
  url: string,
  opts: {
    init?: RequestInit;
    timeoutMs?: number;
    intervalMs?: number;
    alive?: () => boolean;
  } = {},
): Promise<number> {
  const started = performance.now();
  const deadline = started + (opts.timeoutMs ?? 30_000);
  let last = "no answer";
  while (performance.now() < deadline) {
    if (opts.alive && !opts.alive()) {
      throw new Error(`Server exited before answering ${url}`);
    }
    try {
      const res = await fetch(url, {
        ...opts.init,
        signal: AbortSignal.timeout(2_000),
      });
      await res.body?.cancel();
      if (res.status === 200) return performance.now() - started;
      last = `status ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(opts.intervalMs ?? 5);
  }
  throw new Error(`Timed out waiting for 200 from ${url}: ${last}`);
}

/** CPU seconds a process has used, in user space and in the kernel. */
export interface CpuSplit {
  user: number;
  system: number;
}

/**
 * CPU seconds a process has used, user and system apart, from the text of
 * /proc/<pid>/stat (`ticks` per second, 100 on Linux).
 */
export function parsePidCpuSplit(text: string, ticks = 100): CpuSplit {
  // The command name may hold spaces and parentheses: fields follow the last ")".
  const end = text.lastIndexOf(")");
  if (end === -1) throw new SyntaxError('Cannot read a pid\'s stat: no ")"');
  const f = text.slice(end + 2).split(" ");
  const user = Number(f[11]);
  const system = Number(f[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) {
    throw new SyntaxError("Cannot read a pid's stat: no utime/stime fields");
  }
  return { user: user / ticks, system: system / ticks };
}

/**
 * CPU seconds a process has used (user + system), from the text of
 * /proc/<pid>/stat (`ticks` per second, 100 on Linux).
 */
export function parsePidCpuSeconds(text: string, ticks = 100): number {
  const { user, system } = parsePidCpuSplit(text, ticks);
  return user + system;
}

/** CPU seconds `pid` has used, or 0 once it is gone. */
export async function cpuSeconds(pid: number): Promise<number> {
  const { user, system } = await cpuSplit(pid);
  return user + system;
}

/** CPU seconds `pid` has used, user and system apart, or 0 once it is gone. */
export async function cpuSplit(pid: number): Promise<CpuSplit> {
  try {
    return parsePidCpuSplit(await readProc(`/proc/${pid}/stat`));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { user: 0, system: 0 };
    throw error;
  }
}

/** Busy and total jiffies of all CPUs, from the first line of /proc/stat. */
export function parseProcStat(text: string): { busy: number; total: number } {
  const m = /^cpu\s+(.+)$/m.exec(text);
  if (!m) throw new SyntaxError("Cannot read /proc/stat: no cpu line");
  const f = m[1]!.trim().split(/\s+/).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * How busy the machine is without us: the share of all CPUs in use over
 * `ms`, 0-1 (other sessions' work perturbs every number).
 */
export async function machineBusy(ms = 1_000): Promise<number> {
  const a = parseProcStat(await readProc("/proc/stat"));
  await sleep(ms);
  const b = parseProcStat(await readProc("/proc/stat"));
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

/** Share of CPUs busy at which the machine counts as quiet. */
export const QUIET = 0.1;

/**
 * Waits up to `maxS` for other processes to leave the CPUs idle (below
 * {@linkcode QUIET}); resolves with the last share busy.
 */
export async function waitQuiet(
  maxS: number,
  log: (message: string) => void,
): Promise<number> {
  const deadline = Date.now() + maxS * 1000;
  let busy = await machineBusy(1_000);
  if (busy > QUIET && maxS > 0) {
    log(`Machine ${(busy * 100).toFixed(0)}% busy: waiting up to ${maxS} s`);
  }
  while (busy > QUIET && Date.now() < deadline) busy = await machineBusy(1_000);
  return busy;
}
