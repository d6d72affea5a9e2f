/**
 * A single-consumer async queue: the inbound messages of a streaming call,
 * delivered to the handler one by one as they arrive.
 *
 * @module
 */

/** Messages pushed by a producer, read with `for await` or `next()`. */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #waiting: {
    resolve(r: IteratorResult<T, undefined>): void;
    reject(e: unknown): void;
  } | null = null;
  #ended = false;
  #error: { reason: unknown } | null = null;

  /** Adds a message; ignored after `end()` or `fail()`. */
  push(item: T): void {
    if (this.#ended || this.#error) return;
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = null;
      w.resolve({ value: item, done: false });
    } else this.#items.push(item);
  }

  /** Marks the end of input: the consumer finishes after the queued items. */
  end(): void {
    if (this.#ended || this.#error) return;
    this.#ended = true;
    if (this.#waiting && this.#items.length === 0) {
      this.#waiting.resolve({ value: undefined, done: true });
      this.#waiting = null;
    }
  }

  /** Fails the stream: the consumer's next read throws `reason`. */
  fail(reason: unknown): void {
    if (this.#ended || this.#error) return;
    this.#error = { reason };
    this.#items = [];
    if (this.#waiting) {
      this.#waiting.reject(reason);
      this.#waiting = null;
    }
  }

  /** Reads the next message. */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#error) return Promise.reject(this.#error.reason);
    if (this.#items.length > 0) {
      return Promise.resolve({ value: this.#items.shift()!, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  /** Called when the consumer stops early: drops what is left. */
  return(): Promise<IteratorResult<T, undefined>> {
    this.#items = [];
    this.#ended = true;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
