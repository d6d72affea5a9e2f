/**
 * What tracing costs the serving process per span: checking a replica's
 * `trace.spans` message (512 spans, as a replica sends them at most) and
 * encoding a batch as OTLP JSON (2048 spans, the exporter's batch).
 * `deno bench src/wire/trace_spans_bench.ts`
 *
 * @module
 */

import { checkFromReplica } from "./replica_message_check.ts";
import { exportRequest } from "../trace/otlp_json.ts";
import {
  newSpanId,
  newTraceId,
  type SpanData,
  SpanKind,
} from "../trace/span.ts";

function spans(n: number): SpanData[] {
  const traceId = newTraceId();
  const parent = newSpanId();
  return Array.from({ length: n }, (_, i): SpanData => {
    const span: SpanData = {
      traceId,
      spanId: newSpanId(),
      parentSpanId: parent,
      name: ["POST /iris", "queue", "handler handlePost"][i % 3]!,
      kind: i % 3 === 0 ? SpanKind.SERVER : SpanKind.INTERNAL,
      start: 1_700_000_000_000 + i,
      end: 1_700_000_000_001.5 + i,
    };
    // One span in three is a server span with the request's attributes.
    if (i % 3 === 0) {
      span.attributes = {
        "http.request.method": "POST",
        "url.path": "/iris",
        "cortex.request_id": crypto.randomUUID(),
        "http.response.status_code": 200,
      };
    }
    return span;
  });
}

const message = { type: "trace.spans", spans: spans(512) };
Deno.bench("check a trace.spans message of 512 spans", () => {
  checkFromReplica(message);
});

const batch = [{ resource: { "service.name": "iris" }, spans: spans(2048) }];
Deno.bench("encode 2048 spans as OTLP JSON (exportRequest + stringify)", () => {
  JSON.stringify(exportRequest(batch, "cortex"));
});
