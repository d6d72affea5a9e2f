import assert from "node:assert/strict";
import type { CustomSeries } from "./custom_metrics.ts";
import { RetiredStats } from "./retired_stats.ts";
import { LATENCY_BUCKETS } from "./request_stats.ts";

const counter = (tags: Record<string, string>, value = 1): CustomSeries => ({
  name: "jobs",
  type: "counter",
  tags,
  value,
});

Deno.test("RetiredStats sums ended replicas' counters, histograms and request stats; drops gauges", () => {
  const retired = new RetiredStats();
  const buckets = new Array(LATENCY_BUCKETS.length + 1).fill(0);
  const snap = () => ({
    stats: { "200": { count: 2, sum: 0.5, buckets: [...buckets] } },
    custom: [
      counter({ kind: "a" }, 3),
      { name: "load", type: "gauge" as const, tags: {}, value: 7 },
      {
        name: "lat",
        type: "histogram" as const,
        tags: {},
        value: 0.2,
        count: 1,
        buckets: [1, ...buckets.slice(1)],
      },
    ],
    connections: {
      open: 5,
      refused: 1,
      timedOut: { header: 1, idle: 2, body: 3 },
      acceptErrors: 4,
    },
  });
  retired.add(snap());
  retired.add(snap());
  assert.equal(retired.stats["200"]?.count, 4);
  assert.equal(retired.stats["200"]?.sum, 1);
  const byName = Object.fromEntries(retired.custom.map((s) => [s.name, s]));
  assert.equal(byName.jobs?.value, 6);
  assert.equal(byName.lat?.count, 2);
  assert.equal(byName.lat?.buckets?.[0], 2);
  assert.equal(byName.load, undefined);
  assert.deepEqual(retired.connections, {
    open: 0,
    refused: 2,
    timedOut: { header: 2, idle: 4, body: 6 },
    acceptErrors: 8,
  });
});

Deno.test("RetiredStats keeps at most its limit of series, however many replicas end", () => {
  const retired = new RetiredStats(100);
  for (let replica = 0; replica < 50; replica++) {
    retired.add({
      stats: {},
      custom: Array.from(
        { length: 10 },
        (_, i) => counter({ replica: String(replica), i: String(i) }),
      ),
    });
  }
  assert.equal(retired.custom.length, 100);
  assert.equal(retired.droppedSeries, 400);
  // A kept series still adds up.
  retired.add({ stats: {}, custom: [counter({ replica: "0", i: "0" }, 5)] });
  assert.equal(
    retired.custom.find((s) => s.tags.replica === "0" && s.tags.i === "0")
      ?.value,
    6,
  );
});
