/**
 * A finished span as plain data: what replicas record, send to the serving
 * process (`trace.spans`, checked there) and what the exporter encodes as
 * OTLP. Ids are lower-case hex as in W3C `traceparent`; times are Unix epoch
 * milliseconds with sub-millisecond fractions.
 *
 * @module
 */

/** OTLP span kinds (the protocol's numbering). */
export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

/** One of {@linkcode SpanKind}'s values. */
export type SpanKindValue = typeof SpanKind[keyof typeof SpanKind];

/** A span's attribute values: what OTLP's AnyValue holds, flat. */
export type AttributeValue = string | number | boolean;

/** The ids a child or a link needs. */
export interface SpanContext {
  traceId: string;
  spanId: string;
}

/** A finished span. */
export interface SpanData extends SpanContext {
  /** Absent for the root of a trace. */
  parentSpanId?: string;
  name: string;
  kind: SpanKindValue;
  start: number;
  end: number;
  attributes?: Record<string, AttributeValue>;
  /** Spans this one relates to without being their child (a batch's requests). */
  links?: SpanContext[];
  /** Set when the span failed: the status message. */
  error?: string;
}

function hex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  b[0]! |= 1; // never all zeros (invalid in W3C Trace Context)
  let out = "";
  for (const x of b) out += (x < 16 ? "0" : "") + x.toString(16);
  return out;
}

/** A new random 16-byte trace id. */
export function newTraceId(): string {
  return hex(16);
}

/** A new random 8-byte span id. */
export function newSpanId(): string {
  return hex(8);
}

const ORIGIN = performance.timeOrigin;

/** Now, as Unix epoch milliseconds with the monotonic clock's resolution. */
export function nowMs(): number {
  return ORIGIN + performance.now();
}

/** The `traceparent` that makes `span` the parent of a downstream call. */
export function traceparentOf(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-01`;
}

/**
 * The server span of a request refused at the edge (CORS, key, rate limit)
 * before any replica ran it, from `start` to now; null when its caller does
 * not sample the trace.
 */
export function refusedSpan(
  req: Request,
  path: string,
  status: number,
  start: number,
  parent: (SpanContext & { sampled: boolean }) | null,
): SpanData | null {
  if (parent !== null && !parent.sampled) return null;
  return {
    traceId: parent?.traceId ?? newTraceId(),
    spanId: newSpanId(),
    ...(parent ? { parentSpanId: parent.spanId } : {}),
    name: `${req.method} ${path}`,
    kind: SpanKind.SERVER,
    start,
    end: nowMs(),
    attributes: {
      "http.request.method": req.method,
      "url.path": path,
      "http.response.status_code": status,
      "cortex.refused": true,
    },
  };
}
