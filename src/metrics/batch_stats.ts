/**
 * Per-replica batch histograms (`cortex_batch_size`,
 * `cortex_batch_wait_seconds`), kept as plain data like RequestStats.
 *
 * @module
 */

import { LATENCY_BUCKETS } from "./request_stats.ts";
import {
  addHistogram,
  type Histogram,
  histogram,
  observe,
} from "./histogram.ts";

/** Batch size histogram upper bounds (Prometheus `le`). */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Wait histogram upper bounds in seconds: the request latency buckets. */
export const BATCH_WAIT_BUCKETS = LATENCY_BUCKETS;

export type { Histogram };

/** What a replica reports about its batches. */
export interface BatchSnapshot {
  size: Histogram;
  wait: Histogram;
}

/** An empty snapshot. */
export function emptyBatchSnapshot(): BatchSnapshot {
  return {
    size: histogram(BATCH_SIZE_BUCKETS),
    wait: histogram(BATCH_WAIT_BUCKETS),
  };
}

/** Accumulates batches of one replica. */
export class BatchStats {
  readonly #s = emptyBatchSnapshot();

  /** One batch: its size, and how long each of its requests waited (ms). */
  observe(size: number, waitsMs: readonly number[]): void {
    observe(this.#s.size, BATCH_SIZE_BUCKETS, size);
    for (const ms of waitsMs) {
      observe(this.#s.wait, BATCH_WAIT_BUCKETS, ms / 1000);
    }
  }

  snapshot(): BatchSnapshot {
    return structuredClone(this.#s);
  }
}

/** Adds `b` into `a` (returns `a`). */
export function mergeBatches(
  a: BatchSnapshot,
  b: BatchSnapshot,
): BatchSnapshot {
  for (const key of ["size", "wait"] as const) addHistogram(a[key], b[key]);
  return a;
}
