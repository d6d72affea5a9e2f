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

/** Makes a writer of access lines for fixed labels. */
export function accessLineFormatter(
  labels: Record<string, string | number>,
  pid: number,
): (entry: AccessEntry) => string {
  // Labels are fixed per replica: the line's constant parts are rendered
  // once, so a line is a handful of concatenations.
  const labelPrefix = JSON.stringify(labels).slice(0, -1);
  const sep = labelPrefix.length > 1 ? "," : "";
  const labelsHead = `"labels":${labelPrefix}${sep}"requestId":`;
  const tail = `},"process":${pid}}`;
  // toISOString() costs ~0.5 µs; lines within one millisecond share it.
  let lastMs = 0;
  let head = "";
  return (e) => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      head = `{"asctime":"${
        new Date(ms).toISOString()
      }","levelname":"INFO","message":`;
    }
    const latency = e.latencyMs.toFixed(1);
    const id = quote(e.requestId);
    // A method and path that need no escaping make a message that needs
    // none either (the rest is digits): one check each, not one more for
    // the message.
    const plain = SAFE.test(e.method) && SAFE.test(e.path);
    const method = plain ? `"${e.method}"` : JSON.stringify(e.method);
    const path = plain ? `"${e.path}"` : quote(e.path);
    const message = plain
      ? `"${e.method} ${e.path} ${e.status} ${latency}ms"`
      : quote(`${e.method} ${e.path} ${e.status} ${latency}ms`);
    return `${head}${message},"method":${method},"path":${path},"status":${e.status},"latencyMs":${e.latencyMs},"requestId":${id},${
      e.traceId === undefined ? "" : `"traceId":"${e.traceId}",`
    }${
      e.spanId === undefined
        ? ""
        : `"trace_id":"${e.traceId}","span_id":"${e.spanId}",`
    }"bytesIn":${e.bytesIn},"bytesOut":${e.bytesOut},${
      e.batchSize === undefined ? "" : `"batchSize":${e.batchSize},`
    }${
      e.closeCode === undefined ? "" : `"closeCode":${e.closeCode},`
    }${labelsHead}${id}${tail}`;
  };
}
