/**
 * Streamed response bodies between processes, in chunks instead of buffered
 * (README "Streaming"): a replica's answer to a request the serving process
 * routed to it (`http.response` with `streaming: true`, `http.chunk`s,
 * `http.end`; credits `http.credit`), and the serving process's answer to a
 * replica's chained call or hand-off (`forward.response` with `streaming`,
 * `forward.chunk`s, `forward.end`; credits `forward.credit`). Flow control is
 * by credit: the receiving side grants one chunk each time its reader wants
 * one, so a slow client pauses the producing generator across processes.
 *
 * @module
 */

import type { FromReplica, WireResponse } from "./replica_messages.ts";
import { markStreamed } from "../http/response.ts";
import { CHUNK_BYTES } from "./channel_limits.ts";

/** Chunks a receiver asks for ahead of its reader. */
export const STREAM_AHEAD = 4;

/** Where a pumped stream's chunks and end go. */
export interface ChunkSink {
  chunk(chunk: Uint8Array): void;
  end(error: boolean): void;
}

/**
 * Pumps one response body to another process as it grants credits: one
 * chunk a credit, each at most CHUNK_BYTES (a larger piece of the body is
 * sent in slices, a credit each), so the receiver holds at most
 * STREAM_AHEAD x CHUNK_BYTES of it.
 */
export class ForwardedStream {
  readonly #body: ReadableStream<Uint8Array>;
  readonly #sink: ChunkSink;
  readonly #signal: AbortSignal;
  #credits = 0;
  #wake: (() => void) | null = null;

  constructor(
    body: ReadableStream<Uint8Array>,
    sink: ChunkSink,
    signal: AbortSignal,
  ) {
    this.#body = body;
    this.#sink = sink;
    this.#signal = signal;
  }

  /** The receiver wants `n` more chunks. */
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
    // What is left of the body's last piece, sent a slice per credit.
    let rest: Uint8Array | null = null;
    try {
      while (!this.#signal.aborted) {
        while (this.#credits <= 0 && !this.#signal.aborted) {
          await new Promise<void>((r) => this.#wake = r);
          this.#wake = null;
        }
        if (this.#signal.aborted) break;
        if (rest === null) {
          const { value, done } = await reader.read();
          if (done) break;
          rest = value;
        }
        this.#credits--;
        if (rest.byteLength <= CHUNK_BYTES) {
          this.#sink.chunk(rest);
          rest = null;
        } else {
          this.#sink.chunk(rest.subarray(0, CHUNK_BYTES));
          rest = rest.subarray(CHUNK_BYTES);
        }
      }
    } catch {
      failed = true;
    } finally {
      this.#signal.removeEventListener("abort", onAbort);
    }
    this.#sink.end(failed);
  }
}

/** A body already in memory as a stream, for {@linkcode ForwardedStream}. */
export function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** What a receiver says to the sending process. */
export interface CreditSource {
  credit(n: number): void;
  cancel(): void;
}

/** One streamed response being received. */
export class ReceivedStream {
  readonly response: Response;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #arrived: (() => void) | null = null;
  #over = false;
  readonly #onOver: () => void;

  constructor(res: WireResponse, source: CreditSource, onOver: () => void) {
    this.#onOver = onOver;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => void (this.#controller = c),
      pull: () =>
        new Promise<void>((resolve) => {
          this.#arrived = resolve;
          source.credit(1);
        }),
      cancel: () => {
        if (this.#finish()) source.cancel();
      },
    }, { highWaterMark: STREAM_AHEAD });
    this.response = new Response(body, {
      status: res.status,
      headers: res.headers,
    });
  }

  #finish(): boolean {
    if (this.#over) return false;
    this.#over = true;
    this.#arrived?.();
    this.#arrived = null;
    this.#onOver();
    return true;
  }

  chunk(chunk: Uint8Array): void {
    if (this.#over) return;
    this.#controller.enqueue(chunk as Uint8Array<ArrayBuffer>);
    this.#arrived?.();
    this.#arrived = null;
  }

  end(error = false): void {
    if (!this.#finish()) return;
    try {
      if (error) this.#controller.error(new Error("The stream was cut short"));
      else this.#controller.close();
    } catch { /* the reader cancelled it */ }
  }
}

/** A replica's streamed answers to its forwards, by forward id. */
export class ReceivedStreams {
  readonly #open = new Map<number, ReceivedStream>();
  readonly #post: (msg: FromReplica) => void;

  constructor(post: (msg: FromReplica) => void) {
    this.#post = post;
  }

  /** The head of forward `id`'s streamed answer: its Response. */
  open(id: number, res: WireResponse): Response {
    const stream = new ReceivedStream(res, {
      credit: (n) => this.#post({ type: "forward.credit", id, n }),
      cancel: () => this.#post({ type: "forward.cancel", id }),
    }, () => this.#open.delete(id));
    this.#open.set(id, stream);
    return markStreamed(stream.response);
  }

  chunk(id: number, chunk: Uint8Array): void {
    this.#open.get(id)?.chunk(chunk);
  }

  end(id: number, error = false): void {
    this.#open.get(id)?.end(error);
  }
}
