import assert from "node:assert/strict";
import { addHistogram, histogram, observe } from "./histogram.ts";

const BOUNDS = [1, 5, 10];

Deno.test("observe(): a value lands in the first bucket whose bound holds it, else +Inf", () => {
  const table: Array<[number, number]> = [
    [0, 0],
    [1, 0],
    [1.5, 1],
    [5, 1],
    [10, 2],
    [10.1, 3],
    [Infinity, 3],
  ];
  for (const [value, bucket] of table) {
    const h = histogram(BOUNDS);
    observe(h, BOUNDS, value);
    const want = [0, 0, 0, 0];
    want[bucket] = 1;
    assert.deepEqual(h.buckets, want, `value ${value}`);
    assert.equal(h.count, 1);
    assert.equal(h.sum, value);
  }
});

Deno.test("addHistogram() adds counts, sums and buckets", () => {
  const a = histogram(BOUNDS);
  const b = histogram(BOUNDS);
  observe(a, BOUNDS, 2);
  observe(b, BOUNDS, 2);
  observe(b, BOUNDS, 20);
  addHistogram(a, b);
  assert.deepEqual(a, { count: 3, sum: 24, buckets: [0, 2, 0, 1] });
  assert.deepEqual(b.buckets, [0, 1, 0, 1], "b is left as it was");
});
