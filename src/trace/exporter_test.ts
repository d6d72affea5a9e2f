import assert from "node:assert/strict";
import { TraceExporter } from "./exporter.ts";
import { type SpanData, SpanKind } from "./span.ts";

const CONFIG = {
  url: "http://collector.test:4318/v1/traces",
  headers: { authorization: "Bearer t" },
  serviceName: null,
  resource: { "deployment.environment": "test" },
};

function span(name: string, attributes?: SpanData["attributes"]): SpanData {
  return {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    name,
    kind: SpanKind.INTERNAL,
    start: 1,
    end: 2,
    ...(attributes ? { attributes } : {}),
  };
}

function fakeFetch(status = 200) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch = ((url: string, init: RequestInit) => {
    calls.push({ url, init });
    return Promise.resolve(new Response("{}", { status }));
  }) as unknown as typeof globalThis.fetch;
  return { calls, fetch };
}

Deno.test("TraceExporter: one POST per batch, grouped by API, sender stamped over what the span said", async () => {
  const { calls, fetch } = fakeFetch();
  const exporter = new TraceExporter(CONFIG, { onError: () => {}, fetch });
  exporter.add("a", [span("x", { "cortex.replica": "forged" })], "a-1");
  exporter.add("b", [span("y")], "b-7");
  assert.equal(calls.length, 0, "batched");
  await exporter.flush();
  assert.equal(calls.length, 1);
  const { url, init } = calls[0]!;
  assert.equal(url, CONFIG.url);
  const headers = init.headers as Record<string, string>;
  assert.equal(headers.authorization, "Bearer t");
  assert.equal(headers["content-type"], "application/json");
  const body = JSON.parse(init.body as string);
  assert.equal(body.resourceSpans.length, 2);
  const [a, b] = body.resourceSpans;
  assert.deepEqual(a.resource.attributes, [
    { key: "deployment.environment", value: { stringValue: "test" } },
    { key: "service.name", value: { stringValue: "a" } },
    { key: "cortex.api", value: { stringValue: "a" } },
  ]);
  assert.deepEqual(a.scopeSpans[0].spans[0].attributes, [
    { key: "cortex.replica", value: { stringValue: "a-1" } },
  ]);
  assert.equal(b.scopeSpans[0].spans[0].name, "y");
  await exporter.flush();
  assert.equal(calls.length, 1, "nothing more to send");
});

Deno.test("TraceExporter: a failing collector is reported once per run of failures and its spans dropped", async () => {
  const { fetch } = fakeFetch(503);
  const errors: string[] = [];
  const exporter = new TraceExporter(CONFIG, {
    onError: (m) => errors.push(m),
    fetch,
  });
  exporter.add("a", [span("x")]);
  await exporter.flush();
  exporter.add("a", [span("y")]);
  await exporter.flush();
  assert.equal(errors.length, 1);
  assert.match(
    errors[0]!,
    /Cannot export 1 span\(s\) to http:\/\/collector\.test:4318\/v1\/traces .*503/,
  );
  assert.equal(exporter.dropped, 2);
});

Deno.test("TraceExporter: the queue is bounded", async () => {
  const { calls, fetch } = fakeFetch();
  const exporter = new TraceExporter(CONFIG, {
    onError: () => {},
    fetch,
    maxQueued: 3,
    batchSize: 100,
  });
  exporter.add("a", [span("1"), span("2"), span("3"), span("4")]);
  assert.equal(exporter.dropped, 1);
  await exporter.flush();
  const body = JSON.parse(calls[0]!.init.body as string);
  assert.equal(body.resourceSpans[0].scopeSpans[0].spans.length, 3);
});
