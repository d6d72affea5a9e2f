/**
 * Gathers what `GET /metrics` shows: live counters from the replicas' load
 * reports, and request stats pulled from each replica (those of replicas that
 * have ended are summed per API, src/metrics/retired_stats.ts, so counters
 * never go backwards).
 *
 * @module
 */

import {
  type ApiMetrics,
  mergeCustom,
  renderMetrics,
} from "../metrics/exposition.ts";
import type { CustomSeries } from "../metrics/custom_metrics.ts";
import { emptyStreamSnapshot, mergeStreams } from "../metrics/stream_stats.ts";
import { mergeStats, type StatsSnapshot } from "../metrics/request_stats.ts";
import { emptyBatchSnapshot, mergeBatches } from "../metrics/batch_stats.ts";
import { RetiredStats } from "../metrics/retired_stats.ts";
import type { FromReplica } from "../wire/replica_messages.ts";
import type { Replica } from "./replica.ts";
import type { ApiRuntime } from "./project_server.ts";
import type {
  ConnectionLimits,
  ConnectionStats,
} from "../http/guarded_server.ts";
import {
  type ListenerCounters,
  renderConnectionMetrics,
} from "../metrics/connection_metrics.ts";

type StatsMsg = Extract<FromReplica, { type: "stats" }>;

/** Last snapshot of each live replica, by API then replica id. */
const lastSeen = new Map<string, Map<string, StatsMsg>>();
/** The sum of the last snapshots of each API's ended replicas. */
const retiredOf = new Map<string, RetiredStats>();

/** Renders /metrics for every API of the server. */
export async function collectMetrics(
  server: {
    apis: Map<string, ApiRuntime>;
    connections?: ConnectionStats;
    limits?: ConnectionLimits;
  },
  pull: (replica: Replica) => Promise<StatsMsg | null>,
): Promise<string> {
  const out: ApiMetrics[] = [];
  const listeners: ListenerCounters[] = server.connections
    ? [{ stats: server.connections, live: true }]
    : [];
  for (const [name, { pool, autoscaler }] of server.apis) {
    const seen = lastSeen.get(name) ?? new Map<string, StatsMsg>();
    lastSeen.set(name, seen);
    const live = [...pool.replicas].filter((r) => r.state !== "stopped");
    const pulled = await Promise.all(live.map(pull));
    pulled.forEach((msg, i) => msg && seen.set(live[i]!.id, msg));
    // An ended replica's last snapshot joins the API's sum and is let go:
    // what is kept does not grow with the replicas ever started.
    const retired = retiredOf.get(name) ?? new RetiredStats();
    retiredOf.set(name, retired);
    const liveIds = new Set(live.map((r) => r.id));
    for (const [id, msg] of seen) {
      if (liveIds.has(id)) continue;
      retired.add(msg);
      seen.delete(id);
    }
    if (retired.connections) {
      listeners.push({ stats: retired.connections, live: false });
    }
    for (const msg of seen.values()) {
      if (msg.connections) {
        listeners.push({
          stats: msg.connections,
          live: pulled.includes(msg),
        });
      }
    }
    const stats: StatsSnapshot = mergeStats(
      pool.mainStats.snapshot(),
      retired.stats,
    );
    const custom: CustomSeries[][] = [retired.custom];
    const streamed = emptyStreamSnapshot();
    if (retired.streams) mergeStreams(streamed, retired.streams);
    const batches = pool.api.handler.serverSideBatching
      ? emptyBatchSnapshot()
      : undefined;
    if (batches && retired.batches) mergeBatches(batches, retired.batches);
    for (const msg of seen.values()) {
      mergeStats(stats, msg.stats);
      if (batches && msg.batches) mergeBatches(batches, msg.batches);
      if (msg.streams) mergeStreams(streamed, msg.streams);
      custom.push(msg.custom);
    }
    out.push({
      api: name,
      inFlight: pool.inFlight,
      queued: pool.queued,
      replicas: pool.ready.length,
      desiredReplicas: pool.desired,
      limit: pool.limit,
      restarts: pool.restarts,
      handedOff: pool.handedOff,
      reconnects: pool.reconnects,
      replicaLoads: Object.fromEntries(live.map((r) => [r.id, r.load])),
      rejected: {
        overloaded: stats["503"]?.count ?? 0,
        unauthorized: stats["401"]?.count ?? 0,
        rate_limited: stats["429"]?.count ?? 0,
      },
      decisions: { ...autoscaler.decisions },
      stats,
      ...(batches ? { batches } : {}),
      streams: streamed,
      custom: mergeCustom(custom),
    });
  }
  const text = renderMetrics(out);
  return server.limits
    ? text + renderConnectionMetrics(server.limits, listeners)
    : text;
}
