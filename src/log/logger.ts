/**
 * The structured logger shared by the runtime and handlers (`ctx.logger`).
 *
 * @module
 */

import type { LogLevel } from "../config/resolved_config.ts";
import { formatRecord } from "./format.ts";
import { prettyLine } from "./pretty.ts";

/** Numeric rank of each level; a record is written when rank >= the logger's. */
export const LEVEL_RANK: Readonly<Record<LogLevel, number>> = {
  debug: 10,
  info: 20,
  warning: 30,
  error: 40,
};

/** Options of one log call. */
export interface LogOptions {
  /** Flattened one level into the JSON line; reserved keys are dropped. */
  extra?: Record<string, unknown>;
}

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** Lowest level written. */
  level: LogLevel;
  /** Labels on every line (`apiName`, `apiKind`, `replicaId`, ...). */
  labels: Record<string, string | number>;
  /** Receives the formatted lines of one call (no trailing newlines). */
  write: (lines: string[]) => void;
  /** Clock, for tests. Defaults to `new Date()`. */
  now?: () => Date;
  /** Process id written under `process`. Defaults to `Deno.pid`. */
  pid?: number;
  /** "json" (default) or "pretty" for readable lines in development. */
  format?: "json" | "pretty";
  /** Colours in pretty lines. Defaults to `!Deno.noColor`. */
  color?: boolean;
  /** The active span's ids, when there is one (`trace_id`, `span_id`). */
  trace?: () => { traceId: string; spanId: string } | undefined;
}

/**
 * A levelled JSON logger. It formats lines and hands them to `write`; it never
 * throws, whatever the arguments or the sink do.
 *
 * @example Usage
 * ```ts
 * import { Logger } from "./logger.ts";
 * const lines: string[] = [];
 * const logger = new Logger({
 *   level: "info",
 *   labels: { apiName: "iris" },
 *   write: (l) => lines.push(...l),
 * });
 * logger.info("loaded", { extra: { classes: 3 } });
 * ```
 */
export class Logger {
  #opts: LoggerOptions;
  #rank: number;

  /**
   * Creates a logger.
   *
   * @param opts Level, labels, sink and optional clock, pid and format.
   */
  constructor(opts: LoggerOptions) {
    this.#opts = { ...opts, labels: { ...opts.labels } };
    this.#rank = LEVEL_RANK[opts.level] ?? LEVEL_RANK.info;
  }

  /** The lowest level this logger writes. */
  get level(): LogLevel {
    return this.#opts.level;
  }

  /** A copy of the labels written on every line. */
  get labels(): Record<string, string | number> {
    return { ...this.#opts.labels };
  }

  /**
   * Tells whether a record of `level` would be written.
   *
   * @param level A level.
   * @returns True when `level` is at or above the logger's level.
   */
  enabled(level: LogLevel): boolean {
    return (LEVEL_RANK[level] ?? 0) >= this.#rank;
  }

  /**
   * Writes a DEBUG line.
   *
   * @param message The message.
   * @param opts `extra` fields.
   */
  debug(message: string, opts?: LogOptions): void {
    this.log("debug", message, opts);
  }

  /**
   * Writes an INFO line.
   *
   * @param message The message.
   * @param opts `extra` fields.
   */
  info(message: string, opts?: LogOptions): void {
    this.log("info", message, opts);
  }

  /**
   * Writes a WARNING line.
   *
   * @param message The message.
   * @param opts `extra` fields.
   */
  warning(message: string, opts?: LogOptions): void {
    this.log("warning", message, opts);
  }

  /**
   * Writes an ERROR line.
   *
   * @param message The message.
   * @param opts `extra` fields.
   */
  error(message: string, opts?: LogOptions): void {
    this.log("error", message, opts);
  }

  /**
   * Writes an ERROR line with the error's stack under `exc_info`.
   *
   * @param message The message.
   * @param error Anything thrown.
   * @param opts `extra` fields.
   */
  exception(message: string, error: unknown, opts?: LogOptions): void {
    this.log("error", message, { extra: opts?.extra, error });
  }

  /**
   * Writes a line at any level; the other methods call this one.
   *
   * @param level The level.
   * @param message The message.
   * @param opts `extra` fields and an optional `error` for `exc_info`.
   */
  log(
    level: LogLevel,
    message: string,
    opts?: { extra?: Record<string, unknown> | undefined; error?: unknown },
  ): void {
    if (!this.enabled(level)) return;
    try {
      const o = this.#opts;
      const extra = isRecord(opts?.extra) ? opts.extra : undefined;
      const trace = o.trace?.();
      let lines = formatRecord({
        level,
        message,
        labels: o.labels,
        ...(extra ? { extra } : {}),
        ...(opts?.error !== undefined ? { error: opts.error } : {}),
        ...(trace ? { trace } : {}),
      }, { now: o.now?.() ?? new Date(), pid: o.pid ?? Deno.pid });
      if (o.format === "pretty") {
        const color = o.color ?? !Deno.noColor;
        lines = lines.map((line) => prettyLine(line, { color }));
      }
      o.write(lines);
    } catch {
      // Logging must never break the caller (e.g. a closed worker port).
    }
  }

  /**
   * Returns a logger with the same level and sink and the labels merged
   * (the child's win).
   *
   * @param labels Labels to add, e.g. `{ requestId }`.
   * @returns The child logger.
   */
  child(labels: Record<string, string | number>): Logger {
    return new Logger({
      ...this.#opts,
      labels: { ...this.#opts.labels, ...labels },
    });
  }
}

/** Fields of one access log line. */
export interface AccessEntry {
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  requestId: string;
  /**
   * The request's trace: from a valid `traceparent`, or its server span's
   * when tracing is on.
   */
  traceId?: string;
  /** The request's server span, when tracing is on (`trace_id`, `span_id`). */
  spanId?: string;
  bytesIn: number;
  bytesOut: number;
  /** Size of the request's batch (server_side_batching). */
  batchSize?: number;
  /** A WebSocket's close code (its line is written when it closes). */
  closeCode?: number;
}

/**
 * Writes the access log line of one request at INFO, e.g.
 * `POST /iris 200 1.2ms`, with the entry's fields as `extra`.
 *
 * @param logger The runtime's logger for the API.
 * @param entry The request's method, path, status, latency, id and sizes.
 *
 * @example Usage
 * ```ts
 * import { Logger, logAccess } from "./logger.ts";
 * const logger = new Logger({ level: "info", labels: {}, write: () => {} });
 * logAccess(logger, {
 *   method: "POST", path: "/iris", status: 200, latencyMs: 1.23,
 *   requestId: "abc", bytesIn: 10, bytesOut: 20,
 * });
 * ```
 */
export function logAccess(logger: Logger, entry: AccessEntry): void {
  if (!logger.enabled("info")) return;
  const latencyMs = Math.round(entry.latencyMs * 1000) / 1000;
  logger.info(
    `${entry.method} ${entry.path} ${entry.status} ${
      entry.latencyMs.toFixed(1)
    }ms`,
    { extra: { ...entry, latencyMs } },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
