import assert from "node:assert/strict";
import {
  emptyStreamSnapshot,
  mergeStreams,
  STREAM_DURATION_BUCKETS,
  StreamStats,
} from "./stream_stats.ts";

Deno.test("StreamStats keeps first-byte and duration apart, durations on their long bounds", () => {
  const stats = new StreamStats();
  stats.firstByte(0.002);
  stats.duration(120);
  stats.duration(7200);
  const { firstByte, duration } = stats.snapshot();
  assert.equal(firstByte.count, 1);
  assert.equal(duration.count, 2);
  assert.equal(duration.buckets[STREAM_DURATION_BUCKETS.indexOf(300)], 1);
  assert.equal(duration.buckets.at(-1), 1, "over an hour: +Inf");
});

Deno.test("mergeStreams() adds both histograms", () => {
  const s = new StreamStats();
  s.firstByte(1);
  s.duration(2);
  const merged = mergeStreams(
    mergeStreams(emptyStreamSnapshot(), s.snapshot()),
    s.snapshot(),
  );
  assert.deepEqual([merged.firstByte.count, merged.firstByte.sum], [2, 2]);
  assert.deepEqual([merged.duration.count, merged.duration.sum], [2, 4]);
});
