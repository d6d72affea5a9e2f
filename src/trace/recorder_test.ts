import assert from "node:assert/strict";
import { MAX_SPANS_PER_MESSAGE, SpanRecorder } from "./recorder.ts";
import { type SpanData, SpanKind, traceparentOf } from "./span.ts";
import { parseTraceparent } from "../edge/trace.ts";

Deno.test("SpanRecorder: children share the trace, roots start one, ends record once", () => {
  const sent: SpanData[][] = [];
  const recorder = new SpanRecorder((spans) => sent.push(spans), 10_000);
  const root = recorder.start("POST /a", SpanKind.SERVER, null, { a: 1 });
  const child = recorder.start("handler", SpanKind.INTERNAL, root);
  assert.equal(child.traceId, root.traceId);
  assert.match(root.traceId, /^[0-9a-f]{32}$/);
  assert.match(root.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(child.spanId, root.spanId);
  child.end("boom");
  child.end();
  root.set("http.response.status_code", 200);
  root.link([{ traceId: "a".repeat(32), spanId: "b".repeat(16) }]);
  root.end();
  assert.equal(sent.length, 0, "held until the delay or a flush");
  recorder.flush();
  assert.equal(sent.length, 1);
  const [c, r] = sent[0]!;
  assert.equal(c!.parentSpanId, root.spanId);
  assert.equal(c!.error, "boom");
  assert.equal(r!.parentSpanId, undefined);
  assert.deepEqual(r!.attributes, { a: 1, "http.response.status_code": 200 });
  assert.equal(r!.links?.length, 1);
  assert.ok(r!.end >= r!.start && r!.start > 1.6e12);
  // The traceparent of a span parses back to its ids.
  const tp = parseTraceparent(traceparentOf(root));
  assert.deepEqual(tp, {
    traceId: root.traceId,
    spanId: root.spanId,
    flags: "01",
  });
});

Deno.test("SpanRecorder: a full batch goes at once; the delay sends the rest", async () => {
  const sent: SpanData[][] = [];
  const recorder = new SpanRecorder((spans) => sent.push(spans), 20);
  for (let i = 0; i < MAX_SPANS_PER_MESSAGE + 1; i++) {
    recorder.start("s", SpanKind.INTERNAL, null).end();
  }
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.length, MAX_SPANS_PER_MESSAGE);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.length, 1);
});
