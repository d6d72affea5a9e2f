/**
 * A streamed response of a request the serving process routed here, sent
 * back in chunks (`http.response` with `streaming: true`, then `http.chunk`s
 * and `http.end`) instead of being buffered. Flow control is by credit: the
 * serving process grants one chunk (`http.credit`) each time its reader
 * wants one, so a slow client pauses the handler's generator here too.
 *
 * @module
 */

import type { FromReplica } from "./messages.ts";

/** Pumps one response body to the serving process. */
export class ForwardedStream {
  readonly #id: number;
  readonly #body: ReadableStream<Uint8Array>;
  readonly #post: (msg: FromReplica) => void;
  readonly #signal: AbortSignal;
  #credits = 0;
  #wake: (() => void) | null = null;

  constructor(
    id: number,
    body: ReadableStream<Uint8Array>,
    post: (msg: FromReplica) => void,
    signal: AbortSignal,
  ) {
    this.#id = id;
    this.#body = body;
    this.#post = post;
    this.#signal = signal;
  }

  /** The serving process wants `n` more chunks. */
  credit(n: number): void {
    this.#credits += n;
    this.#wake?.();
  }

  /** Sends the body until it ends, or the request is cancelled. */
  async pump(): Promise<void> {
    const reader = this.#body.getReader();
    const onAbort = () => {
      this.#wake?.();
      reader.cancel(this.#signal.reason).catch(() => {});
    };
    this.#signal.addEventListener("abort", onAbort, { once: true });
    let failed = false;
    try {
      while (!this.#signal.aborted) {
        while (this.#credits <= 0 && !this.#signal.aborted) {
          await new Promise<void>((r) => this.#wake = r);
          this.#wake = null;
        }
        if (this.#signal.aborted) break;
        const { value, done } = await reader.read();
        if (done) break;
        this.#credits--;
        this.#post({ type: "http.chunk", id: this.#id, chunk: value });
      }
    } catch {
      failed = true;
    } finally {
      this.#signal.removeEventListener("abort", onAbort);
    }
    this.#post(
      failed
        ? { type: "http.end", id: this.#id, error: true }
        : { type: "http.end", id: this.#id },
    );
  }
}
