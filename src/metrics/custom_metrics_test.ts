import assert from "node:assert/strict";
import { CustomMetrics, isValidSeries } from "./custom_metrics.ts";
import { LATENCY_BUCKETS } from "./request_stats.ts";

Deno.test("CustomMetrics: gauges keep the last value, counters add, histograms bucket", () => {
  const m = new CustomMetrics();
  m.gauge("queue_depth", 3);
  m.gauge("queue_depth", 5);
  m.increment("hits");
  m.increment("hits", 2);
  m.increment("hits", 1, { route: "a" });
  m.histogram("latency", 0.001);
  m.histogram("latency", 1_000);
  const byKey = Object.fromEntries(
    m.snapshot().map((s) => [`${s.name}${JSON.stringify(s.tags)}`, s]),
  );
  assert.equal(byKey["queue_depth{}"]!.value, 5);
  assert.equal(byKey["hits{}"]!.value, 3);
  assert.equal(byKey['hits{"route":"a"}']!.value, 1, "tags make a series");
  const latency = byKey["latency{}"]!;
  assert.equal(latency.count, 2);
  assert.equal(latency.buckets!.length, LATENCY_BUCKETS.length + 1);
  assert.equal(latency.buckets!.at(-1), 1);
  for (const s of m.snapshot()) assert.ok(isValidSeries(s), s.name);
});

Deno.test("CustomMetrics refuses bad names, reserved names, bad tags and type changes, naming them", () => {
  const m = new CustomMetrics();
  m.increment("jobs");
  const table: Array<[() => void, RegExp]> = [
    [() => m.gauge("9lives", 1), /"9lives": names must match/],
    [() => m.gauge("cortex_mine", 1), /"cortex_" prefix is reserved/],
    [() => m.gauge("ok", 1, { "bad-tag": "x" }), /tag "bad-tag"/],
    [() => m.gauge("ok", 1, { __name: "x" }), /tag "__name"/],
    [() => m.gauge("jobs", 1), /"jobs" as a gauge: it is already a counter/],
  ];
  for (const [call, message] of table) assert.throws(call, message);
});

Deno.test("isValidSeries() accepts only series as CustomMetrics builds them", () => {
  const buckets = new Array(LATENCY_BUCKETS.length + 1).fill(0);
  const table: Array<[unknown, boolean]> = [
    [{ name: "a", type: "gauge", tags: {}, value: 1 }, true],
    [
      { name: "a", type: "histogram", tags: {}, value: 1, count: 1, buckets },
      true,
    ],
    [{
      name: "a",
      type: "histogram",
      tags: {},
      value: 1,
      count: 1,
      buckets: [1],
    }, false],
    [{ name: "a", type: "gauge", tags: {}, value: 1, count: 1 }, false],
    [{ name: "cortex_x", type: "gauge", tags: {}, value: 1 }, false],
    [{ name: "a b", type: "gauge", tags: {}, value: 1 }, false],
    [{ name: "a", type: "summary", tags: {}, value: 1 }, false],
    [{ name: "a", type: "gauge", tags: {}, value: NaN }, false],
    [{ name: "a", type: "gauge", tags: { k: 1 }, value: 1 }, false],
    [{ name: "a", type: "gauge", tags: [], value: 1 }, false],
    [null, false],
    ["a", false],
  ];
  for (const [series, want] of table) {
    assert.equal(isValidSeries(series), want, JSON.stringify(series));
  }
});
