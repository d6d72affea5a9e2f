import assert from "node:assert/strict";
import {
  BATCH_SIZE_BUCKETS,
  BatchStats,
  emptyBatchSnapshot,
  mergeBatches,
} from "./batch_stats.ts";

Deno.test("BatchStats: one size per batch, one wait (in seconds) per request", () => {
  const stats = new BatchStats();
  stats.observe(3, [10, 20, 30]);
  stats.observe(1, [0]);
  const { size, wait } = stats.snapshot();
  assert.equal(size.count, 2);
  assert.equal(size.sum, 4);
  assert.equal(size.buckets[BATCH_SIZE_BUCKETS.indexOf(4)], 1, "3 ≤ 4");
  assert.equal(size.buckets[0], 1, "1 ≤ 1");
  assert.equal(wait.count, 4);
  assert.ok(Math.abs(wait.sum - 0.06) < 1e-9, `wait sum ${wait.sum}`);
});

Deno.test("mergeBatches() adds both histograms", () => {
  const a = new BatchStats();
  a.observe(2, [5, 5]);
  const merged = mergeBatches(emptyBatchSnapshot(), a.snapshot());
  mergeBatches(merged, a.snapshot());
  assert.equal(merged.size.count, 2);
  assert.equal(merged.wait.count, 4);
});
