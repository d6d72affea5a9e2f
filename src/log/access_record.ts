/**
 * Access records: a replica's access line as its fields only, which the
 * serving process renders into the very line the replica would have
 * written (src/log/access_line.ts), with the labels and process id it
 * knows the replica by. The replica then neither formats the JSON line nor
 * hands ~400 characters a request to its log batch, and the serving
 * process renders a record instead of checking a line's labels.
 *
 * A record is one line of the replica's log batch, in order with its other
 * lines: `\x1e` and twelve tab-separated fields (ms since the epoch,
 * method, path, status, latency in hundredths of a ms, request id, bytes
 * in, bytes out, trace id, span id, batch size, close code; the last four
 * empty when absent). Every field is checked before rendering: a record
 * can only ever become an access line of the replica that sent it.
 *
 * @module
 */

import type { AccessLineFormatter } from "./access_line.ts";
import { accessLineFormatter } from "./access_line.ts";
import type { AccessEntry } from "./logger.ts";

/** The first character of a record (ASCII record separator). */
export const RECORD_MARK = "\x1e";

/** Printable ASCII without `"` and `\`: rendered without escaping. */
const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/;
const COUNT = /^(0|[1-9]\d{0,14})$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

function isCount(n: number | undefined): boolean {
  return n === undefined || (Number.isSafeInteger(n) && n >= 0);
}

/**
 * The replica's side: an entry as a record, or as its whole line (`line`)
 * when a field does not fit one (a string that would need escaping, a
 * number that is not a count), so that what reaches stdout is always what
 * `line` writes.
 */
export function accessRecordWriter(
  line: AccessLineFormatter,
): (entry: AccessEntry) => string {
  // Lines within one millisecond share its text.
  let lastMs = 0;
  let msText = "0";
  return (e) => {
    const hundredths = Math.round(e.latencyMs * 100);
    if (
      !(hundredths / 100 === e.latencyMs && hundredths >= 0 &&
        hundredths <= Number.MAX_SAFE_INTEGER) ||
      !PLAIN.test(e.method) || !PLAIN.test(e.path) ||
      !PLAIN.test(e.requestId) || !isCount(e.bytesIn) ||
      !isCount(e.bytesOut) ||
      !(Number.isInteger(e.status) && e.status >= 100 && e.status <= 999) ||
      !isCount(e.batchSize) || !isCount(e.closeCode) ||
      (e.traceId !== undefined && !TRACE_ID.test(e.traceId)) ||
      (e.spanId !== undefined &&
        (e.traceId === undefined || !SPAN_ID.test(e.spanId)))
    ) {
      return line(e);
    }
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      msText = `${ms}`;
    }
    return `${RECORD_MARK}${msText}\t${e.method}\t${e.path}\t${e.status}\t${hundredths}\t${e.requestId}\t${e.bytesIn}\t${e.bytesOut}\t${
      e.traceId ?? ""
    }\t${e.spanId ?? ""}\t${e.batchSize ?? ""}\t${e.closeCode ?? ""}`;
  };
}

const P = PLAIN.source.slice(1, -1); // a plain string
const N = COUNT.source.slice(1, -1); // a count (no leading zeros)
/** A whole record, checked in one pass (the fields: see the module doc). */
const RECORD = new RegExp(
  // Method, path, status and latency are also captured as one run (the key
  // of the line's part they make: src/log/access_line.ts).
  `^\\x1e${N}\\t((${P})\\t(${P})\\t([1-9]\\d\\d)\\t${N})\\t(${P})\\t${N}\\t${N}\\t` +
    // A trace id and maybe a span id, or neither.
    `(?:([0-9a-f]{32})\\t([0-9a-f]{16})?|\\t)\\t${N}?\\t${N}?$`,
);
/**
 * The serving process's side: renders a record (a line starting with
 * {@linkcode RECORD_MARK}) of the replica with these labels and process id
 * into its access line, or returns null when any field is malformed.
 */
export function accessRecordRenderer(
  labels: Record<string, string | number>,
  pid: number,
): (record: string) => string | null {
  const format = accessLineFormatter(labels, pid);
  return (record) => {
    const f = RECORD.exec(record);
    if (f === null) return null;
    return format.fields(
      Number(f[1]),
      f[2]!,
      f[3]!,
      f[4]!,
      f[5]!,
      Number(f[6]),
      f[7]!,
      f[8]!,
      f[9]!,
      f[10],
      f[11],
      f[12],
      f[13],
    );
  };
}
