import assert from "node:assert/strict";
import { exportRequest, unixNano } from "./otlp_json.ts";
import { SpanKind } from "./span.ts";

Deno.test("unixNano() keeps sub-millisecond precision as a decimal string", () => {
  assert.equal(unixNano(1_700_000_000_000), "1700000000000000000");
  assert.equal(unixNano(1_700_000_000_000.25), "1700000000000250000");
  assert.equal(unixNano(0), "0");
});

Deno.test("exportRequest() maps spans to OTLP JSON field by field", () => {
  const body = exportRequest([{
    resource: { "service.name": "front", "cortex.api": "front" },
    spans: [{
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      parentSpanId: "00f067aa0ba902b8",
      name: "POST /front",
      kind: SpanKind.SERVER,
      start: 1000,
      end: 1001.5,
      attributes: { s: "x", i: 200, d: 0.5, b: true },
      links: [{ traceId: "a".repeat(32), spanId: "b".repeat(16) }],
      error: "HTTP 500",
    }, {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b9",
      name: "queue",
      kind: SpanKind.INTERNAL,
      start: 1000,
      end: 1000,
    }],
  }], "cortex");
  assert.deepEqual(body, {
    resourceSpans: [{
      resource: {
        attributes: [
          { key: "service.name", value: { stringValue: "front" } },
          { key: "cortex.api", value: { stringValue: "front" } },
        ],
      },
      scopeSpans: [{
        scope: { name: "cortex" },
        spans: [{
          traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
          spanId: "00f067aa0ba902b7",
          parentSpanId: "00f067aa0ba902b8",
          name: "POST /front",
          kind: 2,
          startTimeUnixNano: "1000000000",
          endTimeUnixNano: "1001500000",
          attributes: [
            { key: "s", value: { stringValue: "x" } },
            { key: "i", value: { intValue: "200" } },
            { key: "d", value: { doubleValue: 0.5 } },
            { key: "b", value: { boolValue: true } },
          ],
          links: [{ traceId: "a".repeat(32), spanId: "b".repeat(16) }],
          status: { code: 2, message: "HTTP 500" },
        }, {
          traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
          spanId: "00f067aa0ba902b9",
          name: "queue",
          kind: 1,
          startTimeUnixNano: "1000000000",
          endTimeUnixNano: "1000000000",
          attributes: [],
          links: [],
          status: {},
        }],
      }],
    }],
  });
});
