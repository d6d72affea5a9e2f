/**
 * What the replicas of an API that have ended still count on `/metrics`:
 * their counters and histograms, folded into one snapshot, so totals never
 * go backwards while nothing grows with the number of replicas ever started.
 * A replica's handler chooses its custom series; a handler that crashes its
 * replicas on purpose would otherwise leave up to 10,000 new series behind
 * with each one, for every scrape to merge and render.
 *
 * @module
 */

import type { ConnectionStats } from "../http/guarded_server.ts";
import { type BatchSnapshot, mergeBatches } from "./batch_stats.ts";
import { type CustomSeries, seriesKey } from "./custom_metrics.ts";
import { mergeStats, type StatsSnapshot } from "./request_stats.ts";
import { mergeStreams, type StreamSnapshot } from "./stream_stats.ts";

/** Custom series kept for an API's ended replicas, at most. */
export const MAX_RETIRED_SERIES = 10_000;

/** The last snapshot of a replica's stats (its `stats` message). */
export interface ReplicaSnapshot {
  stats: StatsSnapshot;
  custom: CustomSeries[];
  connections?: ConnectionStats;
  batches?: BatchSnapshot;
  streams?: StreamSnapshot;
}

/**
 * The sum of the last snapshots of an API's ended replicas. Gauges are not
 * kept (the value of a replica that has ended is no one's now); counters and
 * histograms are added to the series of the same name and tags, and series
 * beyond {@linkcode MAX_RETIRED_SERIES} are left out and counted.
 *
 * @example Usage
 * ```ts
 * import { RetiredStats } from "./retired_stats.ts";
 * const retired = new RetiredStats();
 * retired.add({
 *   stats: {},
 *   custom: [{ name: "jobs", type: "counter", tags: {}, value: 2 }],
 * });
 * retired.custom[0]?.value; // 2
 * ```
 */
export class RetiredStats {
  /** Request stats by status. */
  readonly stats: StatsSnapshot = {};
  /** Listener counters (`open` is always 0: their connections are gone). */
  connections: ConnectionStats | undefined;
  /** Batch histograms, once an ended replica had them. */
  batches: BatchSnapshot | undefined;
  /** Streamed-response histograms, once an ended replica had them. */
  streams: StreamSnapshot | undefined;
  /** Series of ended replicas not kept because the limit was reached. */
  droppedSeries = 0;
  readonly #custom = new Map<string, CustomSeries>();
  readonly #max: number;

  /**
   * Creates an empty sum.
   *
   * @param max Custom series kept (default {@linkcode MAX_RETIRED_SERIES}).
   */
  constructor(max: number = MAX_RETIRED_SERIES) {
    this.#max = max;
  }

  /** The kept custom series (counters and histograms). */
  get custom(): CustomSeries[] {
    return [...this.#custom.values()];
  }

  /**
   * Adds the last snapshot of a replica that has ended.
   *
   * @param snap Its last `stats` message.
   */
  add(snap: ReplicaSnapshot): void {
    mergeStats(this.stats, snap.stats);
    if (snap.connections) {
      const c = this.connections ??= {
        open: 0,
        refused: 0,
        timedOut: { header: 0, idle: 0, body: 0 },
        acceptErrors: 0,
      };
      c.refused += snap.connections.refused;
      c.acceptErrors += snap.connections.acceptErrors;
      for (const kind of ["header", "idle", "body"] as const) {
        c.timedOut[kind] += snap.connections.timedOut[kind];
      }
    }
    if (snap.batches) {
      this.batches = this.batches
        ? mergeBatches(this.batches, snap.batches)
        : structuredClone(snap.batches);
    }
    if (snap.streams) {
      this.streams = this.streams
        ? mergeStreams(this.streams, snap.streams)
        : structuredClone(snap.streams);
    }
    for (const s of snap.custom) this.#addSeries(s);
  }

  #addSeries(s: CustomSeries): void {
    if (s.type === "gauge") return;
    const key = seriesKey(s.name, s.tags);
    const t = this.#custom.get(key);
    if (t === undefined) {
      if (this.#custom.size >= this.#max) this.droppedSeries++;
      else this.#custom.set(key, structuredClone(s));
      return;
    }
    if (t.type !== s.type) return;
    t.value += s.value;
    if (s.type === "histogram") {
      t.count = (t.count ?? 0) + (s.count ?? 0);
      t.buckets = (t.buckets ?? []).map((n, i) => n + (s.buckets?.[i] ?? 0));
    }
  }
}
