/**
 * The only writer to stdout: a bounded queue drained by one writer loop.
 *
 * @module
 */

import { formatRecord } from "./format.ts";
import { prettyLine } from "./pretty.ts";

/** What the sink writes to; `Deno.stdout` by default. */
export interface SinkWriter {
  write(p: Uint8Array): Promise<number>;
}

/** Options of {@linkcode StdoutSink}. */
export interface StdoutSinkOptions {
  /** Default `Deno.stdout`. */
  writer?: SinkWriter;
  /** Chunks arriving while this many bytes wait are dropped. Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Render JSON lines with {@linkcode prettyLine}. */
  pretty?: boolean;
  /** Colours in pretty mode. Default: `!Deno.noColor`. */
  color?: boolean;
  /** Clock of the drop warning line, for tests. */
  now?: () => Date;
}

/** Largest single write; queued chunks are coalesced up to this size. */
const MAX_WRITE = 1024 * 1024;

/**
 * Queues chunks of complete lines and writes them in order with full writes.
 * `write` never blocks and never throws: when stdout is too slow and the
 * queue is full, new chunks are dropped and counted (a warning line reports
 * them once the queue drains); after a write error (EPIPE, closed stdout)
 * the sink stops writing for good.
 *
 * @example Usage
 * ```ts
 * import { StdoutSink } from "./stdout_sink.ts";
 * const sink = new StdoutSink();
 * sink.write('{"message":"hi"}\n');
 * await sink.flush();
 * ```
 */
export class StdoutSink {
  #writer: SinkWriter;
  #max: number;
  #pretty: boolean;
  #color: boolean;
  #now: () => Date;
  #encoder = new TextEncoder();
  #queue: Uint8Array[] = [];
  #queued = 0;
  #running = false;
  #closed = false;
  #dropped = 0;
  #droppedLines = 0;
  #unreported = { chunks: 0, lines: 0 };
  #idle: (() => void)[] = [];

  /**
   * Creates a sink.
   *
   * @param opts Writer, queue bound and format.
   */
  constructor(opts: StdoutSinkOptions = {}) {
    this.#writer = opts.writer ?? Deno.stdout;
    this.#max = opts.maxQueuedBytes ?? 16 * 1024 * 1024;
    this.#pretty = opts.pretty ?? false;
    this.#color = opts.color ?? !Deno.noColor;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Chunks dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Lines in the dropped chunks. */
  get droppedLines(): number {
    return this.#droppedLines;
  }

  /** True once a write failed; nothing is written after that. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes waiting to be written. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /**
   * Queues a chunk of complete lines, each ending in "\n".
   *
   * @param chunk The text to write.
   */
  write(chunk: string): void {
    if (this.#closed || chunk === "") return;
    const text = this.#pretty ? this.#prettify(chunk) : chunk;
    this.#offer(this.#encoder.encode(text));
  }

  #offer(bytes: Uint8Array): void {
    // An empty queue always takes the chunk, so one big chunk still goes out.
    if (this.#queued > 0 && this.#queued + bytes.length > this.#max) {
      const lines = countLines(bytes);
      this.#dropped++;
      this.#droppedLines += lines;
      this.#unreported.chunks++;
      this.#unreported.lines += lines;
      return;
    }
    this.#enqueue(bytes);
  }

  /**
   * Resolves when everything queued so far is written (or the sink closed).
   *
   * @returns A promise that resolves, never rejects.
   */
  flush(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #enqueue(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (!this.#running) {
      this.#running = true;
      this.#run();
    }
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const buf = this.#take();
        let off = 0;
        while (off < buf.length) {
          const n = await this.#writer.write(buf.subarray(off));
          if (!(n > 0)) throw new Error("Cannot write to stdout: no progress");
          off += n;
        }
        this.#queued -= buf.length;
        if (this.#queue.length === 0) this.#reportDrops();
      }
    } catch {
      // EPIPE, BrokenPipe, a closed fd: stop writing, never crash the server.
      this.#closed = true;
      this.#queue = [];
      this.#queued = 0;
    } finally {
      this.#running = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /** Removes the next buffers from the queue, coalesced up to MAX_WRITE. */
  #take(): Uint8Array {
    const first = this.#queue.shift() as Uint8Array;
    let total = first.length;
    let count = 0;
    for (const next of this.#queue) {
      if (total + next.length > MAX_WRITE) break;
      total += next.length;
      count++;
    }
    if (count === 0) return first;
    const out = new Uint8Array(total);
    out.set(first, 0);
    let off = first.length;
    for (const next of this.#queue.splice(0, count)) {
      out.set(next, off);
      off += next.length;
    }
    return out;
  }

  #reportDrops(): void {
    const { chunks, lines } = this.#unreported;
    if (chunks === 0) return;
    this.#unreported = { chunks: 0, lines: 0 };
    const [line] = formatRecord({
      level: "warning",
      message:
        `Log output dropped: ${lines} lines in ${chunks} chunks while stdout was too slow`,
      labels: {},
      extra: { droppedLines: lines, droppedChunks: chunks },
    }, { now: this.#now(), pid: Deno.pid });
    this.#queue.push(
      this.#encoder.encode(this.#prettifyOne(line ?? "") + "\n"),
    );
    this.#queued += this.#queue.at(-1)?.length ?? 0;
  }

  #prettify(chunk: string): string {
    const lines = chunk.split("\n");
    const last = lines.pop();
    const out = lines.map((l) => prettyLine(l, { color: this.#color }));
    // A chunk without a trailing newline keeps its last fragment as is.
    return out.join("\n") + (out.length > 0 ? "\n" : "") + (last ?? "");
  }

  #prettifyOne(line: string): string {
    return this.#pretty ? prettyLine(line, { color: this.#color }) : line;
  }
}

function countLines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) {
    n++;
  }
  return bytes[bytes.length - 1] === 10 ? n : n + 1;
}
