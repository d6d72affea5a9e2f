/**
 * Turns a log record into the JSON line(s) written to stdout. Pure: time and
 * pid are passed in.
 *
 * @module
 */

import type { LogLevel } from "../config/resolved_config.ts";
import { safeStringify } from "./_json_safe.ts";

/** One log event before formatting. */
export interface LogRecord {
  level: LogLevel;
  message: string;
  /** `apiName`, `apiKind`, `replicaId`, and `requestId` inside a request. */
  labels: Record<string, string | number>;
  /** Flattened one level into the JSON object. */
  extra?: Record<string, unknown>;
  /** Written under `exc_info`: the stack of an error, or its string form. */
  error?: unknown;
  /** The active span, written as `trace_id` and `span_id`. */
  trace?: { traceId: string; spanId: string };
}

/** Inputs that are not part of the record, so that formatting stays pure. */
export interface FormatOptions {
  now: Date;
  pid: number;
}

/** Largest line written, in UTF-8 bytes (newline excluded). */
export const MAX_LINE_BYTES = 5 * 1024 * 1024;

/** Keys owned by the logger; an `extra` key with one of these names is dropped. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  "asctime",
  "levelname",
  "message",
  "labels",
  "process",
  "exc_info",
  "trace_id",
  "span_id",
]);

/** `levelname` of each level. */
export const LEVEL_NAMES: Readonly<Record<LogLevel, string>> = {
  debug: "DEBUG",
  info: "INFO",
  warning: "WARNING",
  error: "ERROR",
};

/**
 * Formats a record as JSON lines without trailing newlines.
 *
 * Normally returns one line. When `extra` used reserved keys, a warning line
 * naming them follows. When the line would exceed {@linkcode MAX_LINE_BYTES},
 * only a short warning line with the API, level and size is returned.
 *
 * @param rec The record.
 * @param opts The time stamp and process id to write.
 * @returns The lines to write, in order.
 *
 * @example Usage
 * ```ts
 * import { formatRecord } from "./format.ts";
 * const [line] = formatRecord(
 *   { level: "info", message: "hi", labels: { apiName: "iris" } },
 *   { now: new Date(0), pid: 1 },
 * );
 * ```
 */
export function formatRecord(rec: LogRecord, opts: FormatOptions): string[] {
  const asctime = opts.now.toISOString();
  const parts = [
    `"asctime":${JSON.stringify(asctime)}`,
    `"levelname":${JSON.stringify(LEVEL_NAMES[rec.level] ?? "INFO")}`,
    `"message":${JSON.stringify(messageText(rec.message))}`,
  ];
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(rec.extra ?? {})) {
    if (RESERVED_KEYS.has(key)) {
      dropped.push(key);
      continue;
    }
    const json = safeStringify(value);
    if (json !== undefined) parts.push(`${JSON.stringify(key)}:${json}`);
  }
  if (rec.trace !== undefined) {
    parts.push(
      `"trace_id":${JSON.stringify(rec.trace.traceId)}`,
      `"span_id":${JSON.stringify(rec.trace.spanId)}`,
    );
  }
  parts.push(`"labels":${safeStringify(rec.labels) ?? "{}"}`);
  parts.push(`"process":${opts.pid}`);
  if (rec.error !== undefined) {
    parts.push(`"exc_info":${JSON.stringify(excInfo(rec.error))}`);
  }
  const line = `{${parts.join(",")}}`;

  const size = utf8Length(line);
  if (size > MAX_LINE_BYTES) {
    return [warningLine(rec, opts, asctime, {
      message:
        `Log line not written: ${size} bytes exceeds the ${MAX_LINE_BYTES}-byte limit (api ${
          JSON.stringify(String(rec.labels.apiName ?? ""))
        }, level ${LEVEL_NAMES[rec.level] ?? rec.level})`,
      extra: { droppedLevel: LEVEL_NAMES[rec.level], sizeBytes: size },
    })];
  }
  if (dropped.length === 0) return [line];
  const what = dropped.length === 1 ? "key" : "keys";
  return [
    line,
    warningLine(rec, opts, asctime, {
      message: `Log extra ${what} ${
        dropped.map((k) => JSON.stringify(k)).join(", ")
      } dropped: reserved ${what} cannot be overridden`,
      extra: { droppedKeys: dropped },
    }),
  ];
}

/**
 * The `exc_info` text of an error: its stack (with any `cause` chain), or
 * its string form for values that are not errors.
 *
 * @param error Anything thrown.
 * @returns Text for `exc_info`.
 */
export function excInfo(error: unknown): string {
  const seen = new Set<unknown>();
  let out = "";
  let current: unknown = error;
  while (current !== undefined && !seen.has(current) && seen.size < 10) {
    seen.add(current);
    if (out !== "") out += "\nCaused by: ";
    out += errorText(current);
    current = isErrorLike(current) ? current.cause : undefined;
  }
  return out;
}

/**
 * Length of `s` in UTF-8 bytes, without allocating.
 *
 * @param s A string.
 * @returns Its UTF-8 byte length (lone surrogates count as U+FFFD, 3 bytes).
 */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLow(s.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function messageText(message: unknown): string {
  return typeof message === "string" ? message : errorText(message);
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
  cause?: unknown;
}

function isErrorLike(value: unknown): value is ErrorLike {
  return value instanceof Error ||
    (typeof value === "object" && value !== null &&
      typeof (value as ErrorLike).stack === "string");
}

function errorText(value: unknown): string {
  if (typeof value === "string") return value;
  if (isErrorLike(value)) {
    if (typeof value.stack === "string" && value.stack !== "") {
      return value.stack;
    }
    return `${value.name ?? "Error"}: ${value.message ?? ""}`;
  }
  if (typeof value === "object" && value !== null) {
    return safeStringify(value) ?? "[object]";
  }
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

function warningLine(
  rec: LogRecord,
  opts: FormatOptions,
  asctime: string,
  w: { message: string; extra: Record<string, unknown> },
): string {
  const fields = Object.entries(w.extra)
    .map(([k, v]) => `,${JSON.stringify(k)}:${safeStringify(v)}`)
    .join("");
  return `{"asctime":${JSON.stringify(asctime)},"levelname":"WARNING",` +
    `"message":${JSON.stringify(w.message)}${fields},` +
    `"labels":${safeStringify(rec.labels) ?? "{}"},"process":${opts.pid}}`;
}
