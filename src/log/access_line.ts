/**
 * The access log line, built directly as a string: it is written once per
 * request, so it skips the general formatter's flattening and safety walks.
 * The output has the same shape as `logAccess` in logger.ts.
 *
 * @module
 */

import type { AccessEntry } from "./logger.ts";

const SAFE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string literal; printable ASCII without quote or backslash needs no escaping. */
function quote(s: string): string {
  return SAFE.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** What {@linkcode latencyTexts} writes into. */
interface LatencyTexts {
  /** As JSON writes the number. */
  json: string;
  /** As `toFixed(1)` writes it (the message). */
  fixed1: string;
}

/**
 * A latency in ms as JSON and `toFixed(1)` write it. Every entry's latency is
 * rounded to hundredths, so it is written from integers (number-to-string of
 * a fraction costs ~100 ns a line); the rare inexact tie of `toFixed` (x.05,
 * x.15, ... are not exact doubles) and any other number use the number's own
 * formatting, so the text is always the same.
 */
function latencyTexts(ms: number, out: LatencyTexts): void {
  const h = Math.round(ms * 100);
  const frac = h % 100;
  const tenths = frac % 10;
  if (
    !(h >= 0 && h < 1e12 && h / 100 === ms) ||
    (tenths === 5 && frac !== 25 && frac !== 75)
  ) {
    out.json = `${ms}`;
    out.fixed1 = ms.toFixed(1);
    return;
  }
  const whole = (h - frac) / 100;
  out.json = frac === 0
    ? `${whole}`
    : tenths === 0
    ? `${whole}.${frac / 10}`
    : `${whole}.${frac < 10 ? "0" : ""}${frac}`;
  // Half up: an exact tie (x.25, x.75) goes to the larger, as toFixed does.
  const rounded = (frac - tenths) / 10 + (tenths >= 5 ? 1 : 0);
  out.fixed1 = rounded === 10 ? `${whole + 1}.0` : `${whole}.${rounded}`;
}

/**
 * Writes an entry's access line; `ms` is its time (ms since the epoch),
 * now by default.
 */
export interface AccessLineFormatter {
  (entry: AccessEntry, ms?: number): string;
  /**
   * The same line from a checked access record's fields
   * (src/log/access_record.ts): `method`, `path` and `requestId` need no
   * escaping, `status` and the counts are decimal digits, the latency is in
   * hundredths of a ms, and an absent field is undefined. `run` is the
   * record's text of method, path, status and latency (tab-separated, as in
   * the record): the line's part that depends on them alone is kept by it.
   */
  fields(
    ms: number,
    run: string,
    method: string,
    path: string,
    status: string,
    hundredths: number,
    requestId: string,
    bytesIn: string,
    bytesOut: string,
    traceId: string | undefined,
    spanId: string | undefined,
    batchSize: string | undefined,
    closeCode: string | undefined,
  ): string;
}

/**
 * The part of rendered records' lines from the message to `"requestId":`, by
 * the record's method, path, status and latency (which alone make it), shared
 * by every formatter: a server's records repeat a few routes and latencies,
 * and a kept part saves a dozen concatenations and the latency's texts per
 * line (~0.3 µs of ~1.2 a record, and as much again when the batch is
 * encoded). Bounded: emptied when full.
 */
const FRONTS = new Map<string, string>();
const MAX_FRONTS = 1024;

/** Makes a writer of access lines for fixed labels. */
export function accessLineFormatter(
  labels: Record<string, string | number>,
  pid: number,
): AccessLineFormatter {
  // Labels are fixed per replica: the line's constant parts are rendered
  // once, so a line is a handful of concatenations.
  const labelPrefix = JSON.stringify(labels).slice(0, -1);
  const sep = labelPrefix.length > 1 ? "," : "";
  const labelsHead = `"labels":${labelPrefix}${sep}"requestId":`;
  const tail = `},"process":${pid}}`;
  // toISOString() costs ~0.5 µs; lines within one millisecond share it.
  let lastMs = 0;
  let head = "";
  const latency: LatencyTexts = { json: "", fixed1: "" };
  const headAt = (ms: number): string => {
    if (ms !== lastMs) {
      lastMs = ms;
      head = `{"asctime":"${
        new Date(ms).toISOString()
      }","levelname":"INFO","message":`;
    }
    return head;
  };
  /** The line's part from the message to `"requestId":`, strings quoted. */
  const front = (
    message: string,
    method: string,
    path: string,
    status: string | number,
    latencyJson: string,
  ): string =>
    `${message},"method":${method},"path":${path},"status":${status},"latencyMs":${latencyJson},"requestId":`;
  /** The line from its front and other parts, strings already quoted. */
  const line = (
    ms: number,
    front: string,
    id: string,
    traceId: string | undefined,
    spanId: string | undefined,
    bytesIn: string | number,
    bytesOut: string | number,
    batchSize: string | number | undefined,
    closeCode: string | number | undefined,
  ): string =>
    `${headAt(ms)}${front}${id},${
      traceId === undefined ? "" : `"traceId":"${traceId}",`
    }${
      spanId === undefined
        ? ""
        : `"trace_id":"${traceId}","span_id":"${spanId}",`
    }"bytesIn":${bytesIn},"bytesOut":${bytesOut},${
      batchSize === undefined ? "" : `"batchSize":${batchSize},`
    }${
      closeCode === undefined ? "" : `"closeCode":${closeCode},`
    }${labelsHead}${id}${tail}`;
  const format = (e: AccessEntry, ms = Date.now()): string => {
    latencyTexts(e.latencyMs, latency);
    // A method and path that need no escaping make a message that needs
    // none either (the rest is digits): one check each, not one more for
    // the message.
    const plain = SAFE.test(e.method) && SAFE.test(e.path);
    return line(
      ms,
      front(
        plain
          ? `"${e.method} ${e.path} ${e.status} ${latency.fixed1}ms"`
          : quote(`${e.method} ${e.path} ${e.status} ${latency.fixed1}ms`),
        plain ? `"${e.method}"` : JSON.stringify(e.method),
        plain ? `"${e.path}"` : quote(e.path),
        e.status,
        latency.json,
      ),
      quote(e.requestId),
      e.traceId,
      e.spanId,
      e.bytesIn,
      e.bytesOut,
      e.batchSize,
      e.closeCode,
    );
  };
  const fields: AccessLineFormatter["fields"] = (
    ms,
    run,
    method,
    path,
    status,
    hundredths,
    requestId,
    bytesIn,
    bytesOut,
    traceId,
    spanId,
    batchSize,
    closeCode,
  ) => {
    let kept = FRONTS.get(run);
    if (kept === undefined) {
      latencyTexts(hundredths / 100, latency);
      kept = front(
        `"${method} ${path} ${status} ${latency.fixed1}ms"`,
        `"${method}"`,
        `"${path}"`,
        status,
        latency.json,
      );
      // Flattened once here (a number conversion flattens a string in
      // place), not again in every line's encoding.
      Number(kept);
      if (FRONTS.size >= MAX_FRONTS) FRONTS.clear();
      FRONTS.set(run, kept);
    }
    return line(
      ms,
      kept,
      `"${requestId}"`,
      traceId,
      spanId,
      bytesIn,
      bytesOut,
      batchSize,
      closeCode,
    );
  };
  return Object.assign(format, { fields });
}
