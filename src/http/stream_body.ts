/**
 * Streamed response bodies (README "Streaming and server-sent events"): an
 * async iterable or a ReadableStream as a pull-based ReadableStream (the
 * source runs only when the connection takes more: a slow reader pauses a
 * generator), framed as chunks or as server-sent events, that reports its
 * end once, however it ends.
 *
 * @module
 */

const encoder = new TextEncoder();

/** The Content-Type of a server-sent event stream. */
export const SSE_TYPE = "text/event-stream; charset=utf-8";

const HEARTBEAT = encoder.encode(":\n\n");
const SSE_FIELDS = new Set(["event", "id", "data", "retry"]);

/** Turns one streamed chunk into bytes: strings as UTF-8, bytes as is, else JSON lines. */
export function chunkBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (typeof chunk === "string") return encoder.encode(chunk);
  return encoder.encode(JSON.stringify(chunk) + "\n");
}

function isEventObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => SSE_FIELDS.has(k));
}

function oneLine(v: unknown): string {
  return String(v).replace(/[\r\n\0]/g, "");
}

function dataText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return JSON.stringify(v === undefined ? null : v) ?? "null";
}

/**
 * One server-sent event: a string is sent as its text, anything else as
 * JSON; a plain object whose keys are among `event`, `id`, `data` and
 * `retry` sets those fields. A multi-line text becomes several `data:` lines.
 */
export function sseFrame(item: unknown): Uint8Array {
  let out = "";
  let data: unknown = item;
  if (isEventObject(item)) {
    if (item.event !== undefined) out += `event: ${oneLine(item.event)}\n`;
    if (item.id !== undefined) out += `id: ${oneLine(item.id)}\n`;
    if (item.retry !== undefined) {
      const ms = Number(item.retry);
      if (Number.isInteger(ms) && ms >= 0) out += `retry: ${ms}\n`;
    }
    data = item.data;
    if (data === undefined) return encoder.encode(out + "\n");
  }
  for (const line of dataText(data).split(/\r\n|\r|\n/)) {
    out += `data: ${line}\n`;
  }
  return encoder.encode(out + "\n");
}

/** How long a stopped stream waits for its iterator's `return()`. */
export const RETURN_WAIT_MS = 500;

/** How a streamed body ended. */
export type StreamEnd = "done" | "error" | "cancel" | "ended";

/** Options of a streamed body. */
export interface StreamBodyOptions {
  /** Server-sent events (else plain chunks). */
  sse?: boolean;
  /** Idle time before an SSE comment heartbeat, or null for none. */
  heartbeatMs?: number | null;
  /** The first chunk is handed to the connection. */
  onFirstChunk?(): void;
  /**
   * The stream is being stopped from outside (the client went away, or
   * `end()`), before the iterator's `return()` is called.
   */
  onStop?(how: "cancel" | "ended"): void;
  /**
   * Runs once when the stream is over, however it ends: after the
   * iterator's `return()` settled (at most RETURN_WAIT_MS) when stopped.
   */
  onEnd?(how: StreamEnd, error?: unknown): void;
}

/**
 * A pull-based body over an async iterator: at most one item is produced
 * ahead of what the connection has taken (highWaterMark 1), the iterator's
 * `return()` is called at once when the client goes away, and `end()` closes
 * it cleanly from outside (shutdown, stream_timeout).
 */
export class StreamBody {
  readonly stream: ReadableStream<Uint8Array>;
  readonly #iterator: AsyncIterator<unknown>;
  readonly #opts: StreamBodyOptions;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #first = true;
  #over = false;
  /** Generator steps taken (tests, the memory bound). */
  steps = 0;

  constructor(source: AsyncIterable<unknown>, opts: StreamBodyOptions = {}) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#opts = opts;
    this.stream = new ReadableStream<Uint8Array>({
      start: (c) => void (this.#controller = c),
      pull: (c) => this.#pull(c),
      cancel: (reason) => this.#stop("cancel", reason),
    }, { highWaterMark: 1 });
  }

  async #pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    if (this.#over) return;
    const { heartbeatMs, sse } = this.#opts;
    const beat = sse && heartbeatMs
      ? setInterval(() => this.#enqueue(HEARTBEAT), heartbeatMs)
      : undefined;
    let step: IteratorResult<unknown>;
    try {
      step = await this.#iterator.next();
    } catch (error) {
      clearInterval(beat);
      if (this.#over) return;
      this.#finish("error", error);
      if (sse) {
        c.enqueue(
          sseFrame({ event: "error", data: { error: "stream failed" } }),
        );
        c.close();
      } else {
        c.error(error);
      }
      return;
    } finally {
      clearInterval(beat);
    }
    if (this.#over) return;
    this.steps++;
    if (step.done) {
      this.#finish("done");
      c.close();
      return;
    }
    this.#enqueue(sse ? sseFrame(step.value) : chunkBytes(step.value));
  }

  #enqueue(bytes: Uint8Array): void {
    if (this.#over) return;
    if (this.#first) {
      this.#first = false;
      this.#opts.onFirstChunk?.();
    }
    this.#controller.enqueue(bytes);
  }

  /** Stops the source: the iterator's return(), then onEnd. */
  async #stop(how: "cancel" | "ended", reason?: unknown): Promise<void> {
    if (this.#over) return;
    this.#over = true;
    this.#opts.onStop?.(how);
    // An async generator runs return() after its current step: it yields at
    // most one more item, then its finally runs. One stuck in an await is
    // not waited for long.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.resolve(this.#iterator.return?.(reason)).catch(() => {}),
      new Promise((r) => timer = setTimeout(r, RETURN_WAIT_MS)),
    ]);
    clearTimeout(timer);
    this.#opts.onEnd?.(how, reason);
  }

  #finish(how: "done" | "error", error?: unknown): void {
    if (this.#over) return;
    this.#over = true;
    this.#opts.onEnd?.(how, error);
  }

  /** Ends the stream cleanly now (as if the source were done). */
  end(): void {
    if (this.#over) return;
    try {
      this.#controller.close();
    } catch { /* already closed */ }
    void this.#stop("ended");
  }
}

/** A ReadableStream as an async iterable that cancels it on return(). */
export function iterateStream(
  stream: ReadableStream<unknown>,
): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator]() {
      const reader = stream.getReader();
      return {
        next: () => reader.read() as Promise<IteratorResult<unknown>>,
        return: async (reason?: unknown) => {
          await reader.cancel(reason).catch(() => {});
          return { done: true, value: undefined };
        },
      };
    },
  };
}
