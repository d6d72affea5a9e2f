import assert from "node:assert/strict";
import { median, percentile, ratio } from "./stats.ts";

Deno.test("percentile() interpolates between closest ranks", () => {
  const values = [4, 1, 3, 2, 5];
  assert.equal(percentile(values, 0), 1);
  assert.equal(percentile(values, 50), 3);
  assert.equal(percentile(values, 100), 5);
  assert.equal(percentile(values, 25), 2);
  assert.equal(percentile([1, 2], 50), 1.5);
  assert.ok(Math.abs(percentile([10, 20, 30, 40], 99) - 39.7) < 1e-9);
});

Deno.test("percentile() does not reorder its input", () => {
  const values = [3, 1, 2];
  percentile(values, 50);
  assert.deepEqual(values, [3, 1, 2]);
});

Deno.test("percentile() is NaN for no samples and rejects bad p", () => {
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], NaN), RangeError);
});

Deno.test("median() of odd and even counts", () => {
  assert.equal(median([5, 1, 9]), 5);
  assert.equal(median([1, 2, 3, 10]), 2.5);
  assert.equal(median([7]), 7);
});

Deno.test("ratio() is NaN for missing or zero denominators", () => {
  assert.equal(ratio(50, 100), 0.5);
  assert.ok(Number.isNaN(ratio(1, 0)));
  assert.ok(Number.isNaN(ratio(undefined, 1)));
  assert.ok(Number.isNaN(ratio(1, undefined)));
});
