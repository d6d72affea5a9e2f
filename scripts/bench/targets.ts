/**
 * The performance targets and their verdicts for one bench run.
 *
 * @module
 */

import { ratio } from "./stats.ts";
import type { BenchResults, ComparisonRow, InferenceResults } from "./types.ts";

/**
 * What the model costs in RSS over a no-model replica: the larger of the
 * idle and the after-load differences (each replica measured in the same
 * state, so the load's own growth cancels out).
 */
export function modelMemoryMB(r: InferenceResults): number {
  return Math.max(
    r.rss.model.idleMB - r.rss.noModel.idleMB,
    r.rss.model.loadedMB - r.rss.noModel.loadedMB,
  );
}

/** One target's verdict. */
export interface Verdict {
  target: string;
  value: string;
  status: "PASS" | "MISS" | "n/a";
}

function find(
  rows: ComparisonRow[],
  workload: string,
  c: number,
  pinned: boolean,
) {
  return rows.find((r) =>
    r.workload === workload && r.connections === c && r.pinned === pinned
  );
}

function check(
  target: string,
  value: number | undefined,
  ok: (v: number) => boolean,
  fmt: (v: number) => string,
): Verdict {
  if (value === undefined || Number.isNaN(value)) {
    return { target, value: "not measured", status: "n/a" };
  }
  return { target, value: fmt(value), status: ok(value) ? "PASS" : "MISS" };
}

const x = (v: number) => `${v.toFixed(2)}x`;
const ms = (v: number) => `${v.toFixed(v < 10 ? 3 : 0)} ms`;
const mib = (v: number) => `${v.toFixed(1)} MB`;

/** Evaluates every target against what was measured. */
export function evaluateTargets(r: BenchResults): Verdict[] {
  const http = r.http && "rows" in r.http ? r.http.rows : [];
  const pinnedLabel = r.meta.cpus.server === null
    ? "unpinned"
    : `server on CPU ${r.meta.cpus.server}`;
  const main = (w: string, c: number) =>
    find(http, w, c, r.meta.cpus.server !== null);
  const json64 = main("json", 64);
  const json64Free = r.meta.cpus.server === null
    ? undefined
    : find(http, "json", 64, false);
  const json16 = main("json", 16);
  const grpc = r.grpc?.status === "ok"
    ? find(r.grpc.rows, "grpc", 64, r.meta.cpus.server !== null)
    : undefined;
  const grpcStream = r.grpc?.status === "ok"
    ? find(r.grpc.rows, "grpc-stream", 64, r.meta.cpus.server !== null)
    : undefined;
  const startup = r.startup && "medianMs" in r.startup
    ? r.startup.medianMs
    : undefined;
  const mem = r.memory && "idleMB" in r.memory ? r.memory : undefined;
  const keep = r.keepalive && "after" in r.keepalive ? r.keepalive : undefined;
  const batch = r.batching && "at64" in r.batching ? r.batching : undefined;
  const inf = r.inference && "replica" in r.inference ? r.inference : undefined;
  const rps = (v: number) => `${v.toFixed(0)} req/s`;
  const verdicts = [
    check(
      `HTTP JSON echo @64 >= 0.70x raw Deno.serve (${pinnedLabel})`,
      json64 && ratio(json64.runtime.rps, json64.raw.rps),
      (v) => v >= 0.7,
      x,
    ),
  ];
  if (json64Free) {
    verdicts.push(check(
      "HTTP JSON echo @64 >= 0.70x raw Deno.serve (server unpinned)",
      ratio(json64Free.runtime.rps, json64Free.raw.rps),
      (v) => v >= 0.7,
      x,
    ));
  }
  verdicts.push(
    check(
      "HTTP JSON echo @16 p50 overhead <= 0.5 ms",
      json16 && json16.runtime.p50Ms - json16.raw.p50Ms,
      (v) => v <= 0.5,
      ms,
    ),
  );
  const grpcVerdict = check(
    "gRPC unary @64 >= 0.80x raw grpc-js",
    grpc && ratio(grpc.runtime.rps, grpc.raw.rps),
    (v) => v >= 0.8,
    x,
  );
  const streamVerdict = check(
    "gRPC server streaming messages/s @64 >= 0.80x raw grpc-js",
    grpcStream && ratio(grpcStream.runtime.rps, grpcStream.raw.rps),
    (v) => v >= 0.8,
    x,
  );
  if (r.grpc && r.grpc.status !== "ok") {
    grpcVerdict.value = `gRPC: ${r.grpc.status}`;
    streamVerdict.value = `gRPC: ${r.grpc.status}`;
  }
  verdicts.push(
    grpcVerdict,
    streamVerdict,
    // Issue 17's start and memory targets.
    check(
      "Start to first response <= 150 ms (median of 5)",
      startup,
      (v) => v <= 150,
      ms,
    ),
    check(
      "Idle RSS of the serving process and its replica <= 60 MB",
      mem?.idleMB,
      (v) => v <= 60,
      mib,
    ),
    check(
      "RSS per extra replica <= 12 MB",
      mem?.perExtraReplicaMB,
      (v) => v <= 12,
      mib,
    ),
    check(
      "Private memory per extra replica <= 12 MB",
      mem?.perExtraReplicaPrivateMB,
      (v) => v <= 12,
      mib,
    ),
    check(
      "Keep-alive scale-up: req/s after >= 70% of the replicas' capacity",
      keep && keep.after.rps / keep.after.capacityRps,
      (v) => v >= 0.7,
      (v) => `${(v * 100).toFixed(0)}%`,
    ),
    check(
      "Keep-alive scale-up: p50 after <= 1.75x the handler time",
      keep && keep.after.p50Ms / keep.handlerMs,
      (v) => v <= 1.75,
      x,
    ),
    check(
      "Batching @64: fixed >= 3x unbatched throughput",
      batch?.fixedSpeedup,
      (v) => v >= 3,
      x,
    ),
    check(
      "Batching @64: adaptive >= 3x unbatched throughput",
      batch?.adaptiveSpeedup,
      (v) => v >= 3,
      x,
    ),
    check(
      "Batching @64: adaptive p99 <= max_latency",
      batch && batch.at64.adaptive.p99Ms / batch.maxLatencyMs,
      (v) => v <= 1,
      (v) => `${(v * (batch?.maxLatencyMs ?? 0)).toFixed(1)} ms`,
    ),
    check(
      "Batching @1: adaptive adds <= 1 ms p50 over unbatched",
      batch?.adaptiveP50AddedMs,
      (v) => v <= 1,
      (v) => `${v.toFixed(2)} ms`,
    ),
    check(
      "Inference: in-handler latency <= 1.25x plain deno run (mean)",
      inf && ratio(inf.replica.meanUs, inf.plain.meanUs),
      (v) => v <= 1.25,
      x,
    ),
    check(
      "Inference: end to end c=1 >= 5,000 req/s, 0 errors",
      inf && (inf.c1.errors > 0 ? 0 : inf.c1.rps),
      (v) => v >= 5000,
      rps,
    ),
    check(
      "Inference: end to end c=8 >= 7,000 req/s, 0 errors",
      inf && (inf.c8.errors > 0 ? 0 : inf.c8.rps),
      (v) => v >= 7000,
      rps,
    ),
    check(
      "Inference: replica RSS over a no-model replica <= 150 MB",
      inf && modelMemoryMB(inf),
      (v) => v <= 150,
      mib,
    ),
  );
  return verdicts;
}
