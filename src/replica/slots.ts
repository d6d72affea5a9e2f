/**
 * A replica's concurrency: at most `size` handler calls run at once
 * (processes_per_replica x threads_per_process); the rest wait in FIFO order.
 *
 * @module
 */

/** Counting semaphore with a FIFO wait queue. */
export class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  readonly #onQueueChange: (delta: number) => void;

  constructor(size: number, onQueueChange: (delta: number) => void = () => {}) {
    this.#free = size;
    this.#onQueueChange = onQueueChange;
  }

  /** Takes a free slot now if there is one. */
  tryAcquire(): boolean {
    if (this.#free === 0) return false;
    this.#free--;
    return true;
  }

  /** Waits for a free slot. */
  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    this.#onQueueChange(1);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Frees a slot, handing it to the oldest waiter. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) {
      this.#onQueueChange(-1);
      next();
    } else {
      this.#free++;
    }
  }

  /** Runs `fn` holding a slot. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Slots free right now. */
  get free(): number {
    return this.#free;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.#waiting.length;
  }
}
