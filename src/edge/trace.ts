/**
 * W3C Trace Context (`traceparent`) at the edge: accepted from clients and
 * gRPC metadata, carried in the request's scope, written in access lines and
 * given to handlers, and passed on (with a new parent id) by chained calls.
 * No trace is started for a request that carries none, so untraced traffic
 * pays one header lookup.
 *
 * @module
 */

const TRACEPARENT =
  /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** A parsed `traceparent`. */
export interface TraceContext {
  traceId: string;
  spanId: string;
  flags: string;
}

/** Parses a `traceparent` header; null when absent or invalid (per the spec). */
export function parseTraceparent(
  value: string | null | undefined,
): TraceContext | null {
  if (!value) return null;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return null;
  return { traceId: traceId!, spanId: spanId!, flags: flags! };
}

/** A `traceparent` for a call made on behalf of `parent`: same trace, new parent id. */
export function childTraceparent(parent: TraceContext): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0]! |= 1; // never all zeros
  const spanId = [...bytes].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return `00-${parent.traceId}-${spanId}-${parent.flags}`;
}

/**
 * Whether the caller records this trace (the `sampled` flag): spans are
 * recorded only under a sampled parent, as OpenTelemetry's default
 * parent-based sampler does.
 */
export function isSampled(trace: TraceContext): boolean {
  return (parseInt(trace.flags, 16) & 1) === 1;
}

/** A request's `traceparent` as a span parent, with its sampled flag. */
export function parentOf(
  req: Request,
): { traceId: string; spanId: string; sampled: boolean } | null {
  const trace = parseTraceparent(req.headers.get("traceparent"));
  return trace
    ? {
      traceId: trace.traceId,
      spanId: trace.spanId,
      sampled: isSampled(trace),
    }
    : null;
}
