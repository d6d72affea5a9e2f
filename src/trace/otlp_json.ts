/**
 * Spans as an OTLP/HTTP JSON `ExportTraceServiceRequest` (the protobuf JSON
 * mapping: hex ids, 64-bit times as decimal strings, enums as numbers).
 *
 * @module
 */

import type { AttributeValue, SpanData } from "./span.ts";

/** Spans of one resource (the runtime, one API). */
export interface ResourceSpans {
  resource: Record<string, string>;
  spans: SpanData[];
}

type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number };

function anyValue(v: AttributeValue): AnyValue {
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

function attributes(
  attrs: Record<string, AttributeValue> | undefined,
): { key: string; value: AnyValue }[] {
  if (!attrs) return [];
  return Object.entries(attrs).map(([key, v]) => ({ key, value: anyValue(v) }));
}

/** Epoch milliseconds (fractional) as OTLP's nanosecond string. */
export function unixNano(ms: number): string {
  const whole = Math.floor(ms);
  const nanos = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(nanos)).toString();
}

/** The request body for `POST /v1/traces`. */
export function exportRequest(groups: ResourceSpans[], scope: string): unknown {
  return {
    resourceSpans: groups.map((g) => ({
      resource: { attributes: attributes(g.resource) },
      scopeSpans: [{
        scope: { name: scope },
        spans: g.spans.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: unixNano(s.start),
          endTimeUnixNano: unixNano(s.end),
          attributes: attributes(s.attributes),
          links: (s.links ?? []).map((l) => ({
            traceId: l.traceId,
            spanId: l.spanId,
          })),
          // STATUS_CODE_ERROR = 2; unset otherwise.
          status: s.error === undefined ? {} : { code: 2, message: s.error },
        })),
      }],
    })),
  };
}
