/**
 * Cost budget (issue 17): the request id, the access entry's fields, and
 * the whole in-replica pipeline of a JSON echo in-process, next to the same
 * echo written against Deno's Request/Response alone
 * (`deno task bench:stages`). Requests are built in memory: what Deno.serve
 * itself costs per request (connection, parsing, writing) is not here; take
 * it from `deno task bench` (raw Deno.serve at 1 connection).
 *
 * @module
 */

import { parseApiConfigs } from "../config/parse_api_configs.ts";
import { encodeFrame, encodeTextFrame } from "../grpc/common/frames.ts";
import type { HandlerLogger } from "../handler/handler_context.ts";
import { accessLineFormatter } from "../log/access_line.ts";
import { accessRecordWriter } from "../log/access_record.ts";
import { LineBuffer } from "../log/line_buffer.ts";
import { RequestStats } from "../metrics/request_stats.ts";
import { Admission, createAdmissionBuffer } from "./admission.ts";
import { createHttpPipeline, pathOf, requestIdOf } from "./http_pipeline.ts";
import { Slots } from "./slots.ts";
import { SpanRecorder } from "../trace/recorder.ts";

const URL_ = "http://127.0.0.1:8080/echo";
const BODY = JSON.stringify({
  name: "bench",
  label: 1,
  features: [5.1, 3.5, 1.4, 0.2, 4.9, 3.0, 1.4, 0.2],
  options: { topK: 3, explain: false, model: "iris-v1" },
});
const HEADERS = {
  "content-type": "application/json",
  "content-length": String(BODY.length),
};
const request = () =>
  new Request(URL_, { method: "POST", headers: HEADERS, body: BODY });

const plain = request();
const chained = new Request(URL_, {
  method: "POST",
  headers: {
    ...HEADERS,
    "x-request-id": "0b3c5d6e-8f90-4a1b-9c2d-3e4f5a6b7c8d",
  },
  body: BODY,
});

Deno.bench({
  name: "request id: requestIdOf, no x-request-id (randomUUID)",
  group: "request id",
  baseline: true,
}, () => {
  requestIdOf(plain);
});

Deno.bench({
  name: "request id: requestIdOf, incoming x-request-id kept",
  group: "request id",
}, () => {
  requestIdOf(chained);
});

const response = Response.json({ ok: true });
/** Keeps each entry alive, so the work is not optimised away. */
const sink: { entry: unknown } = { entry: null };

Deno.bench({
  name: "access entry: pathOf(url), content-length in and out, latency",
  group: "access entry",
  baseline: true,
}, () => {
  // The fields finish() in http_pipeline.ts reads for the access line.
  const latency = performance.now() - 1;
  sink.entry = {
    method: plain.method,
    path: pathOf(plain.url),
    status: response.status,
    latencyMs: Math.round(latency * 100) / 100,
    requestId: "id",
    bytesIn: Number(plain.headers.get("content-length") ?? 0),
    bytesOut: 150,
  };
});

// The whole pipeline, wired as runtime.ts wires it (access log on).
const [api] = parseApiConfigs(
  "- name: echo\n  handler:\n    path: handler.ts\n",
  "cortex.yaml",
  new Set(["handler.ts"]),
);
class Echo {
  handlePost(payload: unknown): unknown {
    return payload;
  }
}
let reportTimer: ReturnType<typeof setTimeout> | undefined;
const reportSoon = () => {
  if (reportTimer !== undefined) return;
  const timer = setTimeout(() => reportTimer = undefined, 5);
  Deno.unrefTimer(timer);
  reportTimer = timer;
};
const admission = new Admission(createAdmissionBuffer(), reportSoon);
admission.limit = api!.autoscaling.maxReplicaConcurrency;
const logs = new LineBuffer(
  (chunk) => void encodeTextFrame(chunk),
  { maxBytes: 256 * 1024, delayMs: 10 },
);
// As runtime.ts wires it: the replica hands off access records.
const accessLine = accessRecordWriter(accessLineFormatter(
  { apiName: "echo", apiKind: "RealtimeAPI", replicaId: "echo-1" },
  4242,
));
const pipeline = createHttpPipeline({
  api: api!,
  handler: new Echo() as unknown as Record<string, unknown>,
  admission,
  slot: 0,
  slots: new Slots(1, (delta) => admission.addQueued(delta, 0)),
  stats: new RequestStats(),
  loggerFor: () => ({}) as HandlerLogger & { exception(): void },
  access: (entry) => logs.push([accessLine(entry)]),
  track: () => {},
});

Deno.bench({
  name: "whole request in-process: new Request + req.json() + Response.json()",
  group: "whole request (in-process)",
  baseline: true,
}, async () => {
  // What scripts/bench/raw/http_echo.ts does with a request.
  Response.json(await request().json());
});

Deno.bench({
  name: "whole request in-process: new Request + replica pipeline",
  group: "whole request (in-process)",
}, async () => {
  // runtime.ts: requestIdOf, then the pipeline (JSON echo, access log on).
  const req = request();
  await pipeline(req, { requestId: requestIdOf(req) });
});

// Tracing (src/trace/): off, the pipeline above pays one check per request;
// on, three spans (server, queue, handler) per request, sent in batches.
const traced = createHttpPipeline({
  api: api!,
  handler: new Echo() as unknown as Record<string, unknown>,
  admission,
  slot: 0,
  slots: new Slots(1, (delta) => admission.addQueued(delta, 0)),
  stats: new RequestStats(),
  loggerFor: () => ({}) as HandlerLogger & { exception(): void },
  access: (entry) => logs.push([accessLine(entry)]),
  track: () => {},
  tracer: new SpanRecorder((spans) =>
    void encodeFrame([{
      type: "trace.spans",
      spans,
    }])
  ),
});

Deno.bench({
  name: "tracing off: replica pipeline (as above)",
  group: "tracing",
  baseline: true,
}, async () => {
  const req = request();
  await pipeline(req, { requestId: requestIdOf(req) });
});

Deno.bench({
  name:
    "tracing on: replica pipeline recording 3 spans, encoded for the channel",
  group: "tracing",
}, async () => {
  const req = request();
  await traced(req, { requestId: requestIdOf(req) });
});
