/**
 * Small statistics helpers for latency samples: percentiles and medians.
 *
 * @module
 */

/**
 * The `p`-th percentile of `values` with linear interpolation between the
 * closest ranks (the method of numpy's default and of most dashboards).
 *
 * @param values samples in any order (not modified)
 * @param p the percentile, 0-100
 * @returns the percentile, or NaN when there are no samples
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Cannot take percentile ${p}: expected 0-100`);
  }
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return percentileOfSorted(sorted, p);
}

/** Like {@linkcode percentile} for samples already sorted ascending. */
export function percentileOfSorted(
  sorted: ArrayLike<number>,
  p: number,
): number {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

/** The median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** `a / b`, or NaN when either is missing or `b` is 0. */
export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !(b > 0)) return NaN;
  return a / b;
}
