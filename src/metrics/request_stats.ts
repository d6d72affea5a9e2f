/**
 * Per-replica request counters and latency histogram, kept as plain data so a
 * snapshot crosses the replica socket and merges in the serving process.
 *
 * @module
 */

/** Latency histogram upper bounds in seconds (Prometheus `le`). */
export const LATENCY_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
];

/** Counts and latency of requests with one status code. */
export interface StatusStats {
  count: number;
  sum: number;
  /** Non-cumulative counts per bucket; the last entry is +Inf. */
  buckets: number[];
}

/** Everything a replica reports: status code → stats. */
export type StatsSnapshot = Record<string, StatusStats>;

/** Accumulates request outcomes for one replica. */
export class RequestStats {
  readonly #byStatus: StatsSnapshot = {};

  /** Records one finished request. */
  observe(status: number, seconds: number): void {
    const key = String(status);
    const s = this.#byStatus[key] ??= {
      count: 0,
      sum: 0,
      buckets: new Array(LATENCY_BUCKETS.length + 1).fill(0),
    };
    s.count++;
    s.sum += seconds;
    let i = LATENCY_BUCKETS.findIndex((le) => seconds <= le);
    if (i === -1) i = LATENCY_BUCKETS.length;
    s.buckets[i]!++;
  }

  /** A copy of the cumulative totals. */
  snapshot(): StatsSnapshot {
    return structuredClone(this.#byStatus);
  }
}

/** Adds `b` into `a` (returns `a`). */
export function mergeStats(a: StatsSnapshot, b: StatsSnapshot): StatsSnapshot {
  for (const [status, s] of Object.entries(b)) {
    const t = a[status] ??= {
      count: 0,
      sum: 0,
      buckets: new Array(LATENCY_BUCKETS.length + 1).fill(0),
    };
    t.count += s.count;
    t.sum += s.sum;
    s.buckets.forEach((n, i) => t.buckets[i] = (t.buckets[i] ?? 0) + n);
  }
  return a;
}
