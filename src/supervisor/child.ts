/**
 * One supervised child process: spawned with its stdin piped for commands,
 * restarted with backoff when it dies, until it exits with a final status or
 * is told to drain.
 *
 * It can also be replaced while it runs ({@linkcode SupervisedChild.replace}):
 * a new generation starts alongside, and once it is ready it becomes the
 * current one and the previous one is told to drain. Crashes and restarts
 * only ever concern the current generation.
 *
 * @module
 */

import { Generation, type SpawnedChild } from "./generation.ts";
import { EXIT } from "../wire/exit_codes.ts";
import type { SupervisorCommand } from "../wire/stdin_commands.ts";

export type { SpawnedChild } from "./generation.ts";

/** Options of {@linkcode SupervisedChild}. */
export interface ChildOptions {
  /** Capitalised for log lines, e.g. "Serving process". */
  name: string;
  /** `deno` arguments, or a function of the generation (1, 2, …: one per spawn). */
  args: string[] | ((gen: number) => string[]);
  env?: Record<string, string>;
  /** True when this exit ends supervision (default: never). */
  isFinal?(status: Deno.CommandStatus): boolean;
  /** Runs before each spawn. */
  beforeSpawn?(gen: number): Promise<void>;
  /** The command each process gets first on its stdin (e.g. "go"). */
  firstCommand?(gen: number): SupervisorCommand;
  /** Runs alongside each spawned process; awaited after it exits. */
  onSpawn?(child: SpawnedChild, gen: number): Promise<void>;
  /**
   * Runs when a generation becomes the current one (at spawn, or when it
   * takes over from a replaced one); awaited after it exits.
   */
  onCurrent?(child: SpawnedChild, gen: number): Promise<void>;
  /** Runs after a generation has exited and its side tasks have ended. */
  afterExit?(gen: number): Promise<void>;
  /**
   * Resolves true once a replacement is ready to take over (false: never).
   * Without it, {@linkcode SupervisedChild.replace} is not supported.
   */
  isReady?(child: SpawnedChild, gen: number): Promise<boolean>;
  /** How long a replacement may take to become ready (default 60 s). */
  replaceTimeoutMs?: number;
  /** Writes a supervisor log line. */
  log(
    level: "INFO" | "ERROR",
    message: string,
    extra?: Record<string, unknown>,
  ): void;
  /** First restart delay (default 100 ms), doubled on each quick death. */
  minBackoffMs?: number;
  /** Longest restart delay (default 2 s). */
  maxBackoffMs?: number;
  /**
   * A process up this long had started fine: its death restarts it after
   * `minBackoffMs` again (default 10 s).
   */
  stableAfterMs?: number;
  /** Starts a process (default: `Deno.execPath()` with `args`); for tests. */
  spawn?(args: string[], env?: Record<string, string>): SpawnedChild;
}

/**
 * Restart delays: `minMs` after a death, doubled after each death of a
 * process that had not run `stableAfterMs`, at most `maxMs`; back to `minMs`
 * once one ran that long.
 */
export class RestartBackoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #stableAfterMs: number;
  #next: number;

  constructor(
    opts: { minMs?: number; maxMs?: number; stableAfterMs?: number } = {},
  ) {
    this.#minMs = opts.minMs ?? 100;
    this.#maxMs = Math.max(this.#minMs, opts.maxMs ?? 2_000);
    this.#stableAfterMs = opts.stableAfterMs ?? 10_000;
    this.#next = this.#minMs;
  }

  /** The delay before restarting a process that died after `uptimeMs`. */
  delayAfter(uptimeMs: number): number {
    if (uptimeMs >= this.#stableAfterMs) this.#next = this.#minMs;
    const delay = this.#next;
    this.#next = Math.min(this.#next * 2, this.#maxMs);
    return delay;
  }
}

/** Starts `deno` with `args`, stdin piped for commands (the default spawn). */
export function spawnDeno(
  args: string[],
  env?: Record<string, string>,
): SpawnedChild {
  return new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdin: "piped",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
}

/** Keeps one child process running, and replaces it on request. */
export class SupervisedChild {
  readonly #opts: ChildOptions;
  #gen = 0;
  #current: Generation | null = null;
  /** Replaced generations still draining, and a replacement being started. */
  readonly #others = new Set<Generation>();
  #replacing: Promise<boolean> | null = null;
  #swapped = Promise.withResolvers<void>();
  #stopping = Promise.withResolvers<void>();
  #stopped = false;
  #wake: (() => void) | null = null;

  constructor(opts: ChildOptions) {
    this.#opts = opts;
  }

  /** The current process, if any. */
  get child(): SpawnedChild | null {
    return this.#current?.child ?? null;
  }

  /** True while a replacement is being started. */
  get replacing(): boolean {
    return this.#replacing !== null;
  }

  /** Sends a command to every running generation. */
  send(command: SupervisorCommand): void {
    this.#current?.send(command);
    for (const g of this.#others) g.send(command);
  }

  /**
   * Drains every generation (each is told once: a replaced one may already
   * be draining) and stops restarting and replacing.
   */
  drain(): void {
    this.#stopped = true;
    this.#stopping.resolve();
    this.#current?.drain();
    for (const g of this.#others) g.drain();
    this.#wake?.();
  }

  /**
   * Starts a new generation alongside the current one; once it is ready
   * (bounded by `replaceTimeoutMs`) it becomes current and the previous one
   * is told to drain. If it fails, the previous one stays.
   *
   * @returns true when replaced; false when it failed, supervision is
   * stopping, or a replacement is already under way
   */
  replace(reason: string): Promise<boolean> {
    if (this.#replacing || this.#stopped || !this.#current) {
      return Promise.resolve(false);
    }
    const done = this.#replace(this.#current, reason)
      .catch((error) => {
        this.#opts.log(
          "ERROR",
          `Cannot replace the ${lower(this.#opts.name)}: ${
            (error as Error)?.message ?? error
          }`,
        );
        return false;
      })
      .finally(() => this.#replacing = null);
    this.#replacing = done;
    return done;
  }

  async #replace(old: Generation, reason: string): Promise<boolean> {
    const { name, log, isReady } = this.#opts;
    if (!isReady) throw new TypeError("no isReady() to tell when it serves");
    log("INFO", `Replacing the ${lower(name)} (pid ${old.pid}): ${reason}`, {
      oldPid: old.pid,
      reason,
    });
    const next = await this.#start();
    this.#others.add(next);
    if (this.#stopped) next.drain();
    const timeoutMs = this.#opts.replaceTimeoutMs ?? 60_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const why = await Promise.race([
      isReady(next.child, next.n).then((ok) => ok ? null : "it did not start"),
      next.status.then((s) => `it exited (${describe(s)})`),
      old.status.then(() => `the ${lower(name)} exited meanwhile`),
      this.#stopping.promise.then(() => "supervision is stopping"),
      new Promise<string>((resolve) =>
        timer = setTimeout(
          () => resolve(`it was not ready within ${timeoutMs} ms`),
          timeoutMs,
        )
      ),
    ]);
    clearTimeout(timer);
    if (why !== null) {
      log(
        "ERROR",
        `Cannot replace the ${
          lower(name)
        } (pid ${old.pid}): ${why}; keeping it`,
        { oldPid: old.pid, newPid: next.pid, why },
      );
      // Told to drain when stopping: let it; otherwise it goes now.
      if (!this.#stopped) next.kill("SIGKILL");
      await next.done;
      this.#others.delete(next);
      return false;
    }
    this.#current = next;
    this.#becameCurrent(next);
    old.drain();
    log(
      "INFO",
      `${name} replaced: pid ${next.pid} serves; draining pid ${old.pid}`,
      { oldPid: old.pid, newPid: next.pid },
    );
    void old.done.then((status) => {
      this.#others.delete(old);
      log("INFO", `Replaced ${lower(name)} (pid ${old.pid}) exited`, {
        oldPid: old.pid,
        reason: describe(status),
      });
    });
    this.#others.delete(next);
    this.#others.add(old);
    this.#swapped.resolve();
    return true;
  }

  /** Spawns the next generation. */
  async #start(): Promise<Generation> {
    const n = ++this.#gen;
    await this.#opts.beforeSpawn?.(n);
    const { args, env, spawn = spawnDeno } = this.#opts;
    const child = spawn(typeof args === "function" ? args(n) : args, env);
    return new Generation(n, child, {
      first: this.#opts.firstCommand?.(n),
      onSpawn: this.#opts.onSpawn,
      afterExit: this.#opts.afterExit,
    });
  }

  #becameCurrent(g: Generation): void {
    const side = this.#opts.onCurrent?.(g.child, g.n);
    if (side) g.addSide(side);
  }

  /** Waits until the current generation exits (across replacements). */
  async #waitCurrent(): Promise<{ g: Generation; status: Deno.CommandStatus }> {
    while (true) {
      const g = this.#current!;
      this.#swapped = Promise.withResolvers<void>();
      const status = await Promise.race([
        g.done,
        this.#swapped.promise.then(() => null),
      ]);
      if (status && this.#current === g) return { g, status };
    }
  }

  /** Waits for a replacement under way and every replaced generation. */
  async #settle(): Promise<void> {
    await this.#replacing;
    await Promise.all([...this.#others].map((g) => g.done));
  }

  /**
   * Runs the process until a final exit or a drain.
   *
   * @returns the exit code of the last run (0 when it died of a signal
   * while draining)
   */
  async run(): Promise<number> {
    const backoff = new RestartBackoff({
      minMs: this.#opts.minBackoffMs,
      maxMs: this.#opts.maxBackoffMs,
      stableAfterMs: this.#opts.stableAfterMs,
    });
    while (true) {
      const started = await this.#start();
      this.#current = started;
      this.#becameCurrent(started);
      // Told to drain while (re)starting: pass it on.
      if (this.#stopped) started.drain();
      const { g, status } = await this.#waitCurrent();
      // A replacement racing this exit gives up (see #replace) first.
      await this.#replacing;
      this.#current = null;
      if (this.#stopped) {
        await this.#settle();
        return status.signal ? EXIT.ok : status.code;
      }
      if (this.#opts.isFinal?.(status)) {
        await this.#settle();
        return status.code;
      }
      if (status.signal === null && status.code === EXIT.restart) {
        this.#opts.log("INFO", `${this.#opts.name} asked to be restarted`);
        continue;
      }
      const reason = describe(status);
      const delay = backoff.delayAfter(Date.now() - g.started);
      this.#opts.log(
        "ERROR",
        `${this.#opts.name} died (${reason}); restarting in ${delay} ms`,
        { reason, restartInMs: delay },
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
      if (this.#stopped) {
        await this.#settle();
        return EXIT.ok;
      }
    }
  }
}

function describe(status: Deno.CommandStatus): string {
  return status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
}

function lower(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
