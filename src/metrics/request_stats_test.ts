import assert from "node:assert/strict";
import { LATENCY_BUCKETS, mergeStats, RequestStats } from "./request_stats.ts";

Deno.test("RequestStats counts each status with its latency histogram", () => {
  const stats = new RequestStats();
  stats.observe(200, 0.001);
  stats.observe(200, 1_000);
  stats.observe(503, LATENCY_BUCKETS[0]!);
  const snap = stats.snapshot();
  assert.deepEqual(Object.keys(snap).sort(), ["200", "503"]);
  assert.equal(snap["200"]!.count, 2);
  assert.equal(snap["200"]!.sum, 1_000.001);
  assert.equal(snap["200"]!.buckets.length, LATENCY_BUCKETS.length + 1);
  assert.equal(snap["200"]!.buckets.at(-1), 1, "over every bound: +Inf");
  assert.equal(snap["503"]!.buckets[0], 1, "on a bound: that bucket");
  snap["200"]!.count = 99;
  assert.equal(stats.snapshot()["200"]!.count, 2, "snapshots are copies");
});

Deno.test("mergeStats() adds replicas' snapshots status by status", () => {
  const a = new RequestStats();
  const b = new RequestStats();
  a.observe(200, 0.5);
  b.observe(200, 0.5);
  b.observe(404, 0.5);
  const merged = mergeStats(a.snapshot(), b.snapshot());
  assert.equal(merged["200"]!.count, 2);
  assert.equal(merged["200"]!.sum, 1);
  assert.equal(merged["404"]!.count, 1);
  assert.equal(
    merged["200"]!.buckets.reduce((x, y) => x + y, 0),
    2,
    "bucket counts add up",
  );
});
