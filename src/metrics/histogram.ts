/**
 * A histogram as plain data (it crosses from replicas to the serving
 * process), shared by the batch and stream statistics.
 *
 * @module
 */

/** One histogram: non-cumulative counts per bucket, the last being +Inf. */
export interface Histogram {
  count: number;
  sum: number;
  buckets: number[];
}

/** An empty histogram for these upper bounds (Prometheus `le`). */
export function histogram(bounds: readonly number[]): Histogram {
  return { count: 0, sum: 0, buckets: new Array(bounds.length + 1).fill(0) };
}

/** Records one value. */
export function observe(
  h: Histogram,
  bounds: readonly number[],
  v: number,
): void {
  h.count++;
  h.sum += v;
  let i = bounds.findIndex((le) => v <= le);
  if (i === -1) i = bounds.length;
  h.buckets[i]!++;
}

/** Adds `b` into `a`. */
export function addHistogram(a: Histogram, b: Histogram): void {
  a.count += b.count;
  a.sum += b.sum;
  b.buckets.forEach((n, i) => a.buckets[i] = (a.buckets[i] ?? 0) + n);
}
