import assert from "node:assert/strict";
import { type ApiMetrics, mergeCustom, renderMetrics } from "./exposition.ts";
import { RequestStats } from "./request_stats.ts";
import { BatchStats } from "./batch_stats.ts";
import { StreamStats } from "./stream_stats.ts";
import type { CustomSeries } from "./custom_metrics.ts";

/** An API's numbers with everything at zero but `over`. */
function apiMetrics(over: Partial<ApiMetrics> = {}): ApiMetrics {
  return {
    api: "iris",
    inFlight: 0,
    queued: 0,
    replicas: 1,
    desiredReplicas: 1,
    limit: 1024,
    restarts: 0,
    rejected: {},
    handedOff: 0,
    reconnects: 0,
    replicaLoads: {},
    decisions: {},
    stats: {},
    custom: [],
    ...over,
  };
}

/** The sample lines of a rendering (no HELP/TYPE). */
const samples = (text: string) =>
  text.split("\n").filter((l) => l && !l.startsWith("#"));

Deno.test("renderMetrics(): one HELP/TYPE per metric, a sample per API", () => {
  const text = renderMetrics([
    apiMetrics({ inFlight: 3, replicaLoads: { "iris-1": 3 } }),
    apiMetrics({ api: "text", restarts: 2, rejected: { overloaded: 4 } }),
  ]);
  const lines = samples(text);
  for (
    const want of [
      'cortex_in_flight_requests{api="iris"} 3',
      'cortex_in_flight_requests{api="text"} 0',
      'cortex_replica_in_flight_requests{api="iris",replica="iris-1"} 3',
      'cortex_replica_restarts_total{api="text"} 2',
      'cortex_rejected_requests_total{api="text",reason="overloaded"} 4',
      'cortex_admission_limit{api="iris"} 1024',
    ]
  ) assert.ok(lines.includes(want), `missing ${want}`);
  assert.equal(
    text.match(/^# TYPE cortex_in_flight_requests gauge$/gm)?.length,
    1,
  );
  assert.ok(text.endsWith("\n"));
});

Deno.test("renderMetrics(): requests by status with cumulative latency buckets", () => {
  const stats = new RequestStats();
  stats.observe(200, 0.001);
  stats.observe(200, 99_999);
  const lines = samples(
    renderMetrics([apiMetrics({ stats: stats.snapshot() })]),
  );
  assert.ok(
    lines.includes(
      'cortex_requests_total{api="iris",status="200",status_class="2xx"} 2',
    ),
  );
  const buckets = lines.filter((l) =>
    l.startsWith("cortex_request_duration_seconds_bucket")
  );
  const counts = buckets.map((l) => Number(l.split(" ")[1]));
  assert.deepEqual(counts, [...counts].sort((a, b) => a - b), "cumulative");
  assert.equal(counts[0], 1);
  assert.equal(
    buckets.at(-1),
    'cortex_request_duration_seconds_bucket{api="iris",status="200",le="+Inf"} 2',
  );
  assert.ok(
    lines.includes(
      'cortex_request_duration_seconds_count{api="iris",status="200"} 2',
    ),
  );
});

Deno.test("renderMetrics(): batch and stream histograms only for APIs that have them", () => {
  const plain = renderMetrics([apiMetrics()]);
  assert.doesNotMatch(plain, /cortex_batch_size|cortex_stream_first_byte/);
  const batches = new BatchStats();
  batches.observe(2, [1, 1]);
  const streams = new StreamStats();
  streams.firstByte(0.01);
  const text = renderMetrics([
    apiMetrics({ batches: batches.snapshot(), streams: streams.snapshot() }),
  ]);
  assert.match(text, /^cortex_batch_size_count\{api="iris"\} 1$/m);
  assert.match(text, /^cortex_batch_wait_seconds_count\{api="iris"\} 2$/m);
  assert.match(
    text,
    /^cortex_stream_first_byte_seconds_count\{api="iris"\} 1$/m,
  );
  assert.match(text, /^cortex_stream_duration_seconds_count\{api="iris"\} 0$/m);
});

Deno.test("renderMetrics(): handler series with escaped tags and the api label", () => {
  const custom: CustomSeries[] = [
    { name: "jobs", type: "counter", tags: { note: 'a"b\\c\nd' }, value: 2 },
    { name: "ratio", type: "gauge", tags: {}, value: Infinity },
  ];
  const text = renderMetrics([apiMetrics({ custom })]);
  assert.ok(
    samples(text).includes('jobs{note="a\\"b\\\\c\\nd",api="iris"} 2'),
    text,
  );
  assert.ok(samples(text).includes('ratio{api="iris"} +Inf'));
  assert.match(text, /^# TYPE jobs counter$/m);
});

Deno.test("mergeCustom(): counters and histograms add up, gauges keep the last value", () => {
  const series = (value: number): CustomSeries[] => [
    { name: "hits", type: "counter", tags: { a: "1" }, value },
    { name: "depth", type: "gauge", tags: {}, value },
    {
      name: "lat",
      type: "histogram",
      tags: {},
      value,
      count: 1,
      buckets: [1, 0],
    },
  ];
  const merged = mergeCustom([series(2), series(5)]);
  const by = Object.fromEntries(merged.map((s) => [s.name, s]));
  assert.equal(by.hits!.value, 7);
  assert.equal(by.depth!.value, 5);
  assert.deepEqual([by.lat!.value, by.lat!.count, by.lat!.buckets], [7, 2, [
    2,
    0,
  ]]);
  assert.equal(merged.length, 3);
});
