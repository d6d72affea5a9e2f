/**
 * Per-replica histograms of streamed responses (`cortex_stream_first_byte_seconds`,
 * `cortex_stream_duration_seconds`), kept as plain data like RequestStats.
 *
 * @module
 */

import {
  addHistogram,
  type Histogram,
  histogram,
  observe,
} from "./histogram.ts";
import { LATENCY_BUCKETS } from "./request_stats.ts";

/** Time-to-first-byte bounds in seconds: the request latency buckets. */
export const FIRST_BYTE_BUCKETS = LATENCY_BUCKETS;

/** Stream duration bounds in seconds: streams last longer than requests. */
export const STREAM_DURATION_BUCKETS = [
  0.01,
  0.1,
  0.5,
  1,
  5,
  10,
  30,
  60,
  300,
  900,
  3600,
];

/** What a replica reports about its streamed responses. */
export interface StreamSnapshot {
  firstByte: Histogram;
  duration: Histogram;
}

/** An empty snapshot. */
export function emptyStreamSnapshot(): StreamSnapshot {
  return {
    firstByte: histogram(FIRST_BYTE_BUCKETS),
    duration: histogram(STREAM_DURATION_BUCKETS),
  };
}

/** Accumulates the streamed responses of one replica. */
export class StreamStats {
  readonly #s = emptyStreamSnapshot();

  /** Seconds from the request's start to the stream's first chunk. */
  firstByte(seconds: number): void {
    observe(this.#s.firstByte, FIRST_BYTE_BUCKETS, seconds);
  }

  /** Seconds from the request's start to the stream's end. */
  duration(seconds: number): void {
    observe(this.#s.duration, STREAM_DURATION_BUCKETS, seconds);
  }

  /** A copy of the totals. */
  snapshot(): StreamSnapshot {
    return structuredClone(this.#s);
  }
}

/** Adds `b` into `a` (returns `a`). */
export function mergeStreams(
  a: StreamSnapshot,
  b: StreamSnapshot,
): StreamSnapshot {
  for (const key of ["firstByte", "duration"] as const) {
    addHistogram(a[key], b[key]);
  }
  return a;
}
