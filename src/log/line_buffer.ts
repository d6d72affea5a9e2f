/**
 * Batches log lines inside a worker before they are posted to the main
 * thread, so that one postMessage carries many lines and lines never
 * interleave.
 *
 * @module
 */

/** Options of {@linkcode LineBuffer}. */
export interface LineBufferOptions {
  /** Flush once this many characters are buffered. Default 64 KiB. */
  maxBytes?: number;
  /** Flush this long after the first buffered line. Default 5 ms. */
  delayMs?: number;
}

/**
 * Collects lines and hands them to `flush` as one string (lines joined by
 * "\n", with a trailing "\n") after `delayMs`, or at once when `maxBytes`
 * is reached. Its timer is unref'd, so it never keeps a process alive; call
 * {@linkcode LineBuffer.flushNow} before exiting.
 *
 * @example Usage
 * ```ts
 * import { LineBuffer } from "./line_buffer.ts";
 * const posted: string[] = []; // in a worker: self.postMessage({ log: chunk })
 * const buf = new LineBuffer((chunk) => posted.push(chunk));
 * buf.push(['{"message":"hi"}']);
 * buf.flushNow();
 * ```
 */
export class LineBuffer {
  #flush: (chunk: string) => void;
  #maxBytes: number;
  #delayMs: number;
  #lines: string[] = [];
  #size = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Creates a buffer.
   *
   * @param flush Receives each batch; its errors are swallowed.
   * @param opts Size and delay thresholds.
   */
  constructor(flush: (chunk: string) => void, opts: LineBufferOptions = {}) {
    this.#flush = flush;
    this.#maxBytes = opts.maxBytes ?? 64 * 1024;
    this.#delayMs = opts.delayMs ?? 5;
  }

  /** Number of characters waiting (newlines included). */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds lines (without newlines) to the current batch.
   *
   * @param lines The lines of one log call.
   */
  push(lines: string[]): void {
    for (const line of lines) {
      this.#lines.push(line);
      // Characters, not bytes: cheap, and close enough for a threshold.
      this.#size += line.length + 1;
    }
    if (this.#lines.length === 0) return;
    if (this.#size >= this.#maxBytes) {
      this.flushNow();
    } else if (this.#timer === undefined) {
      const timer = setTimeout(() => {
        this.#timer = undefined;
        this.flushNow();
      }, this.#delayMs);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Hands the buffered lines to `flush` now, if there are any. */
  flushNow(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#lines.length === 0) return;
    const chunk = this.#lines.join("\n") + "\n";
    this.#lines = [];
    this.#size = 0;
    try {
      this.#flush(chunk);
    } catch {
      // A closed port must not break the request that logged.
    }
  }
}
