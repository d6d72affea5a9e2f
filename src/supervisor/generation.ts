/**
 * One spawn of a supervised child (see src/supervisor/child.ts): the process,
 * the writer of its command stdin, and its side tasks, which end with it.
 *
 * @module
 */

import {
  encodeCommand,
  type SupervisorCommand,
} from "../wire/stdin_commands.ts";

/** What the supervisor needs of a spawned process (`Deno.ChildProcess` fits). */
export interface SpawnedChild {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  readonly stdin: WritableStream<Uint8Array>;
  kill(signal?: Deno.Signal): void;
}

/** Hooks of a generation, from the child's options. */
export interface GenerationHooks {
  /** Sent before anything else on the process's stdin. */
  first?: SupervisorCommand;
  onSpawn?(child: SpawnedChild, gen: number): Promise<void>;
  afterExit?(gen: number): Promise<void>;
}

/** One running (or ended) spawn. */
export class Generation {
  readonly n: number;
  readonly child: SpawnedChild;
  readonly started = Date.now();
  /** Resolves when the process has exited and its side tasks have ended. */
  readonly done: Promise<Deno.CommandStatus>;
  #stdin: WritableStreamDefaultWriter<Uint8Array> | null;
  readonly #sides: Promise<void>[] = [];
  #drained = false;

  constructor(n: number, child: SpawnedChild, hooks: GenerationHooks) {
    this.n = n;
    this.child = child;
    this.#stdin = child.stdin.getWriter();
    if (hooks.first !== undefined) this.send(hooks.first);
    const side = hooks.onSpawn?.(child, n);
    if (side) this.addSide(side);
    this.done = child.status.then(async (status) => {
      await Promise.all(this.#sides);
      this.#stdin?.releaseLock();
      this.#stdin = null;
      await hooks.afterExit?.(n);
      return status;
    });
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid;
  }

  /** The exit status (before side tasks end). */
  get status(): Promise<Deno.CommandStatus> {
    return this.child.status;
  }

  /** Adds a task that {@linkcode done} waits for (its errors are ignored). */
  addSide(side: Promise<void>): void {
    this.#sides.push(side.catch(() => {}));
  }

  /** Sends one command line on the process's stdin (ignored once it exited). */
  send(command: SupervisorCommand): void {
    this.#stdin?.write(encodeCommand(command)).catch(() => {});
  }

  /**
   * Sends "drain" once: a second one would make a draining serving process
   * exit at once (see src/server/run.ts).
   */
  drain(): void {
    if (this.#drained) return;
    this.#drained = true;
    this.send("drain");
  }

  /** Sends `signal` (ignored once it exited). */
  kill(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch {
      // Already exited.
    }
  }
}
