/**
 * The server side of `cortex logs`: a {@linkcode LogTap} the server feeds
 * with every chunk it writes to stdout, and the filter by API.
 *
 * @module
 */

import type { LogTap } from "./control_target.ts";

/** Options of {@linkcode LogFanout}. */
export interface LogFanoutOptions {
  /** Lines kept for late subscribers (default 1000). */
  history?: number;
}

/**
 * Splits written chunks into lines and hands each line to the subscribers.
 * Keeps the last lines so `cortex logs` can start with recent history.
 *
 * @example Usage
 * ```ts
 * import { LogFanout } from "./log_tap.ts";
 * const tap = new LogFanout();
 * const stop = tap.subscribe((line) => line);
 * tap.publish('{"message":"hi"}\n');
 * stop();
 * ```
 */
export class LogFanout implements LogTap {
  readonly #subscribers = new Set<(line: string) => void>();
  // History is kept as the chunks written (split only when asked for):
  // publish() runs for every log batch, on the thread that writes stdout.
  readonly #chunks: string[] = [];
  #chunkChars = 0;
  readonly #max: number;
  #partial = "";

  constructor(opts: LogFanoutOptions = {}) {
    this.#max = opts.history ?? 1000;
  }

  #remember(chunk: string, size: number): void {
    if (this.#max === 0) return;
    this.#chunks.push(chunk);
    this.#chunkChars += size;
    // Lines are short; ~2 KiB a line is a generous bound for `max` lines.
    while (this.#chunkChars > this.#max * 2048 && this.#chunks.length > 1) {
      this.#chunkChars -= this.#chunks[0]!.length;
      this.#chunks.shift();
    }
  }

  /** Feeds a chunk as written to stdout (one or more lines, maybe partial). */
  publish(chunk: string): void {
    this.#remember(chunk, chunk.length);
    if (this.#subscribers.size === 0) return;
    const parts = (this.#partial + chunk).split("\n");
    this.#partial = parts.pop() ?? "";
    for (const line of parts) {
      if (line === "") continue;
      for (const fn of this.#subscribers) {
        try {
          fn(line);
        } catch {
          // A failing subscriber must not break logging.
        }
      }
    }
  }

  /** {@inheritDoc LogTap.subscribe} */
  subscribe(fn: (line: string) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** {@inheritDoc LogTap.recent} */
  recent(): readonly string[] {
    if (this.#max === 0) return [];
    const text = this.#chunks.join("");
    const lines = text.split("\n").filter((l) => l !== "");
    return lines.slice(-this.#max);
  }

  /** Number of current subscribers. */
  get subscribers(): number {
    return this.#subscribers.size;
  }
}

/**
 * True when a JSON log line belongs to API `name`: its `labels.apiName` is
 * `name` (handler and replica lines), or, for the server's own lines about
 * an API (scaling, roll-outs, crashes), its `api` field is.
 *
 * @param line One JSON log line.
 * @param name The API name.
 */
export function lineMatchesApi(line: string, name: string): boolean {
  // Cheap pre-check: most lines of other APIs never get parsed.
  if (!line.includes(JSON.stringify(name))) return false;
  try {
    const rec = JSON.parse(line) as {
      labels?: { apiName?: unknown };
      api?: unknown;
    };
    return rec.labels?.apiName === name || rec.api === name;
  } catch {
    return false;
  }
}
