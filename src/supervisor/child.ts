/**
 * One supervised child process: spawned with its stdin piped for commands,
 * restarted with backoff when it dies, until it exits with a final status or
 * is told to drain.
 *
 * @module
 */

/** Exit code by which a child asks for an immediate restart (not a crash). */
export const RESTART_EXIT_CODE = 75;

/** Options of {@linkcode SupervisedChild}. */
export interface ChildOptions {
  /** Capitalised for log lines, e.g. "Serving process". */
  name: string;
  /** `deno` arguments. */
  args: string[];
  env?: Record<string, string>;
  /** True when this exit ends supervision (default: never). */
  isFinal?(status: Deno.CommandStatus): boolean;
  /** Runs before each spawn. */
  beforeSpawn?(): Promise<void>;
  /** Runs alongside each spawned process; awaited after it exits. */
  onSpawn?(child: Deno.ChildProcess): Promise<void>;
  /** Writes a supervisor log line. */
  log(
    level: "INFO" | "ERROR",
    message: string,
    extra?: Record<string, unknown>,
  ): void;
  /** First restart delay (default 200 ms), doubled up to 5 s. */
  minBackoffMs?: number;
}

/** Keeps one child process running. */
export class SupervisedChild {
  readonly #opts: ChildOptions;
  #stdin: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #child: Deno.ChildProcess | null = null;
  #stopping = false;
  #wake: (() => void) | null = null;

  constructor(opts: ChildOptions) {
    this.#opts = opts;
  }

  /** The running process, if any. */
  get child(): Deno.ChildProcess | null {
    return this.#child;
  }

  /** Sends one command line to the running process. */
  send(line: string): void {
    this.#stdin?.write(new TextEncoder().encode(line + "\n")).catch(() => {});
  }

  /** Drains the process and stops restarting it. */
  drain(): void {
    this.#stopping = true;
    this.send("drain");
    this.#wake?.();
  }

  /**
   * Runs the process until a final exit or a drain.
   *
   * @returns the exit code of the last run (0 when it died of a signal
   * while draining)
   */
  async run(): Promise<number> {
    const min = this.#opts.minBackoffMs ?? 200;
    let backoff = min;
    while (true) {
      await this.#opts.beforeSpawn?.();
      const started = Date.now();
      const child = new Deno.Command(Deno.execPath(), {
        args: this.#opts.args,
        env: this.#opts.env,
        stdin: "piped",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      this.#child = child;
      this.#stdin = child.stdin.getWriter();
      // Told to drain while (re)starting: pass it on.
      if (this.#stopping) this.send("drain");
      const side = this.#opts.onSpawn?.(child);
      const status = await child.status;
      await side;
      this.#stdin.releaseLock();
      this.#stdin = null;
      this.#child = null;
      if (this.#stopping) return status.signal ? 0 : status.code;
      if (this.#opts.isFinal?.(status)) return status.code;
      if (status.signal === null && status.code === RESTART_EXIT_CODE) {
        this.#opts.log("INFO", `${this.#opts.name} asked to be restarted`);
        continue;
      }
      const reason = status.signal
        ? `signal ${status.signal}`
        : `exit code ${status.code}`;
      if (Date.now() - started > 30_000) backoff = min;
      this.#opts.log(
        "ERROR",
        `${this.#opts.name} died (${reason}); restarting in ${backoff} ms`,
        { reason, restartInMs: backoff },
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
      if (this.#stopping) return 0;
      backoff = Math.min(backoff * 2, 5_000);
    }
  }
}
