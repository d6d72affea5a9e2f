/**
 * Shapes shared by the scenarios, the report, the chart and the JSON file.
 *
 * @module
 */

import type { LoadResult } from "./wrk.ts";
import type { RunSummary } from "./openloop.ts";

export type { LoadResult };

/** The scenarios `--only` can pick. */
export const SCENARIOS = [
  "http",
  "grpc",
  "startup",
  "memory",
  "cpu",
  "keepalive",
  "batching",
  "inference",
  "latency",
] as const;
export type ScenarioName = typeof SCENARIOS[number];

/** CPU placement (`taskset -c` lists), or null where pinning is not possible. */
export interface Placement {
  /** The server when pinned (one core). */
  server: string | null;
  /** The load generator (and the bench itself). */
  load: string | null;
  /** Every core: the server when unpinned. */
  all: string | null;
}

/** What every scenario gets. */
export interface BenchContext {
  durationS: number;
  warmupS: number;
  tmpDir: string;
  cpus: Placement;
  /** Progress output (stderr). */
  log(message: string): void;
}

/** One workload at one connection count, runtime against raw. */
export interface ComparisonRow {
  /** "json", "binary", "multipart" or "grpc". */
  workload: string;
  connections: number;
  /** Whether the server was pinned to one core. */
  pinned: boolean;
  runtime: LoadResult;
  raw: LoadResult;
}

export interface HttpResults {
  rows: ComparisonRow[];
  /** Log lines the runtime wrote during its runs (access log on). */
  runtimeLogLines: number;
  runtimeRequests: number;
}

export type GrpcResults =
  | { status: "ok"; rows: ComparisonRow[] }
  | { status: "not available" | "failed"; reason: string };

export interface StartupResults {
  project: string;
  samplesMs: number[];
  medianMs: number;
}

export interface MemoryResults {
  /** Serving process, one replica, idle. */
  idleMB: number;
  /** The supervisor (cli.ts serve), for reference. */
  supervisorMB: number;
  replicas: number;
  idleManyMB: number;
  perExtraReplicaMB: number;
  /**
   * Private memory (no shared pages) of the serving process and its replicas,
   * idle, with 1 and with `replicas` replicas, and per extra replica (absent
   * in results from before 2026-12-01).
   */
  idlePrivateMB?: number;
  idleManyPrivateMB?: number;
  perExtraReplicaPrivateMB?: number;
  /** Peak and final RSS of the one-replica server under JSON load. */
  loadPeakMB: number;
  afterLoadMB: number;
  load: LoadResult;
  loadConnections: number;
}

export interface CpuResults {
  burnMs: number;
  connections: number;
  one: LoadResult;
  two: LoadResult;
  speedup: number;
}

/** One phase of the keep-alive scale-up scenario. */
export interface KeepAlivePhase {
  /** Ready replicas of the API during the phase. */
  replicas: number;
  /** Requests completed in the measured window. */
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers and failed requests. */
  errors: number;
  /** replicas x slots per replica / handler time. */
  capacityRps: number;
  /** The best p50 the clients can see: max(handler time, clients / capacity). */
  idealP50Ms: number;
  /** Replicas that answered at least one request (from the response bodies). */
  servedBy: number;
}

/** Kept-alive clients before and after a scale-up by a control-API patch. */
export interface KeepAliveResults {
  clients: number;
  handlerMs: number;
  slotsPerReplica: number;
  before: KeepAlivePhase;
  after: KeepAlivePhase;
  /** From the patch to the new replica count on /metrics. */
  scaleUpMs: number;
  /** `cortex_handed_off_requests_total` at the end. */
  handedOff: number;
  /** Connections the clients opened over the whole run (clients: none closed). */
  connections: number;
}

/** Server-side batching against unbatched calls of the same handler. */
export interface BatchingResults {
  /** `max_latency` of the adaptive API. */
  maxLatencyMs: number;
  at64: { plain: LoadResult; fixed: LoadResult; adaptive: LoadResult };
  at1: { plain: LoadResult; adaptive: LoadResult };
  /** Throughput at 64 connections over the unbatched one. */
  fixedSpeedup: number;
  adaptiveSpeedup: number;
  /** p50 at 1 connection, adaptive minus unbatched. */
  adaptiveP50AddedMs: number;
}

/** Per-inference latency in microseconds (projects/onnx/timing.ts). */
export interface Timing {
  n: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

/** Replica RSS (MB) idle after a warm-up, and settled after load. */
export interface ReplicaRss {
  idleMB: number;
  loadedMB: number;
}

/** The inference scenario: examples/onnx's model in a replica. */
export interface InferenceResults {
  /** The same timing loop in plain `deno run`. */
  plain: Timing;
  /** Inside a replica. */
  replica: Timing;
  /** End to end, one replica, 1 and 8 connections. */
  c1: LoadResult;
  c8: LoadResult;
  /** `serve` spawned → /healthz 200. */
  readyMs: number;
  rss: { model: ReplicaRss; noModel: ReplicaRss };
}

/**
 * One offered rate against one server in the latency scenario: the run's
 * summary (latencies from each request's intended send time) and CPU shares.
 */
export interface LatencyPoint extends RunSummary {
  /** The offered rate as a share of raw `Deno.serve`'s closed-loop maximum. */
  fraction: number;
  /**
   * CPU the generator used, as a share of one core over its run, without
   * the time it polled for its next intended send (waiting, not working).
   */
  generatorCpu: number;
  /** CPU the server's processes used, as a share of one core. */
  serverCpu: number;
}

/** Closed-loop maximum of one server, from the same generator. */
export interface LatencyMax {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  generatorCpu: number;
  serverCpu: number;
}

/** p50/p99 against offered load, runtime and raw, open loop (issue 17). */
export interface LatencyResults {
  connections: number;
  /** Measured seconds per rate, after `warmupS` of the same rate. */
  runS: number;
  warmupS: number;
  /** Whether the servers were pinned to one core (the generator to another). */
  pinned: boolean;
  rawMax: LatencyMax;
  runtimeMax: LatencyMax;
  runtime: LatencyPoint[];
  raw: LatencyPoint[];
}

/** Everything one bench run measured. */
export interface BenchResults {
  meta: {
    date: string;
    deno: string;
    v8: string;
    cpuModel: string;
    cores: number;
    kernel: string;
    durationS: number;
    warmupS: number;
    cpus: Placement;
    elapsedS?: number;
    /** Share of all CPUs busy (other sessions) in the second before each scenario. */
    busyBefore: Partial<Record<ScenarioName, number>>;
  };
  http?: HttpResults | { error: string };
  grpc?: GrpcResults;
  startup?: StartupResults | { error: string };
  memory?: MemoryResults | { error: string };
  cpu?: CpuResults | { error: string };
  keepalive?: KeepAliveResults | { error: string };
  batching?: BatchingResults | { error: string };
  inference?: InferenceResults | { error: string };
  latency?: LatencyResults | { error: string };
}
