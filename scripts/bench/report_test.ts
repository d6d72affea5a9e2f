import assert from "node:assert/strict";
import {
  fmtMs,
  inferenceSection,
  keepaliveSection,
  latencySection,
  markdownTable,
  renderReport,
} from "./report.ts";
import { evaluateTargets, modelMemoryMB } from "./targets.ts";
import type {
  BenchResults,
  InferenceResults,
  KeepAliveResults,
  LatencyPoint,
  LatencyResults,
  LoadResult,
} from "./types.ts";

const load = (rps: number, p50Ms: number): LoadResult => ({
  requests: rps * 5,
  durationS: 5,
  rps,
  p50Ms,
  p99Ms: p50Ms * 3,
  errors: 0,
});

const META: BenchResults["meta"] = {
  date: "2026-01-01T00:00:00.000Z",
  deno: "2.9.6",
  v8: "x",
  cpuModel: "CPU",
  cores: 2,
  kernel: "6",
  durationS: 5,
  warmupS: 1,
  cpus: { server: "0", load: "1", all: "0-1" },
  busyBefore: {},
};

Deno.test("markdownTable() aligns columns and right-aligns numbers", () => {
  const table = markdownTable(["Name", "Req/s"], [["JSON", "1,000"], [
    "Upload",
    "20",
  ]]);
  assert.equal(
    table,
    "| Name   | Req/s |\n|--------|------:|\n| JSON   | 1,000 |\n| Upload |    20 |",
  );
});

Deno.test("fmtMs() keeps three decimals for small values", () => {
  assert.equal(fmtMs(0.1234), "0.123");
  assert.equal(fmtMs(12.34), "12.3");
  assert.equal(fmtMs(123.4), "123");
  assert.equal(fmtMs(NaN), "-");
});

Deno.test("evaluateTargets() passes and misses on the measured values", () => {
  const verdicts = evaluateTargets({
    meta: META,
    http: {
      rows: [
        {
          workload: "json",
          connections: 64,
          pinned: true,
          runtime: load(80, 1),
          raw: load(100, 1),
        },
        {
          workload: "json",
          connections: 64,
          pinned: false,
          runtime: load(50, 1),
          raw: load(100, 1),
        },
        {
          workload: "json",
          connections: 16,
          pinned: true,
          runtime: load(80, 0.9),
          raw: load(100, 0.2),
        },
      ],
      runtimeLogLines: 0,
      runtimeRequests: 0,
    },
    grpc: {
      status: "not available",
      reason: "src/grpc/frontend/grpc_server.ts does not exist",
    },
    startup: { project: "examples/hello", samplesMs: [140], medianMs: 140 },
  });
  assert.deepEqual(verdicts.map((v) => [v.status, v.value]), [
    ["PASS", "0.80x"],
    ["MISS", "0.50x"],
    ["MISS", "0.700 ms"],
    ["n/a", "gRPC: not available"],
    ["n/a", "gRPC: not available"],
    ["PASS", "140 ms"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
  ]);
});

const KEEPALIVE: KeepAliveResults = {
  clients: 8,
  handlerMs: 200,
  slotsPerReplica: 2,
  before: {
    replicas: 1,
    requests: 50,
    durationS: 5,
    rps: 9.9,
    p50Ms: 805,
    p99Ms: 812,
    errors: 0,
    capacityRps: 10,
    idealP50Ms: 800,
    servedBy: 1,
  },
  after: {
    replicas: 4,
    requests: 180,
    durationS: 5,
    rps: 36,
    p50Ms: 220,
    p99Ms: 420,
    errors: 0,
    capacityRps: 40,
    idealP50Ms: 200,
    servedBy: 4,
  },
  scaleUpMs: 1_234,
  handedOff: 120,
  connections: 8,
};

Deno.test("evaluateTargets() judges the keep-alive scale-up against issue 19's bars", () => {
  const keep = (vs: ReturnType<typeof evaluateTargets>) =>
    vs.filter((v) => v.target.startsWith("Keep-alive"));
  const verdicts = evaluateTargets({ meta: META, keepalive: KEEPALIVE });
  assert.deepEqual(keep(verdicts).map((v) => [v.status, v.value]), [
    ["PASS", "90%"],
    ["PASS", "1.10x"],
  ]);
  const slow = evaluateTargets({
    meta: META,
    keepalive: {
      ...KEEPALIVE,
      after: { ...KEEPALIVE.after, rps: 10, p50Ms: 800 },
    },
  });
  assert.deepEqual(keep(slow).map((v) => [v.status, v.value]), [
    ["MISS", "25%"],
    ["MISS", "4.00x"],
  ]);
});

Deno.test("evaluateTargets() judges start and memory against issue 17's bars", () => {
  const startAndMemory = (
    medianMs: number,
    idleMB: number,
    perExtraReplicaMB: number,
    perExtraReplicaPrivateMB: number,
  ) =>
    evaluateTargets({
      meta: META,
      startup: { project: "examples/hello", samplesMs: [medianMs], medianMs },
      memory: {
        idleMB,
        supervisorMB: 60,
        replicas: 4,
        idleManyMB: idleMB + 3 * perExtraReplicaMB,
        perExtraReplicaMB,
        perExtraReplicaPrivateMB,
        loadPeakMB: 0,
        afterLoadMB: 0,
        load: load(1000, 1),
        loadConnections: 64,
      },
    }).filter((v) => /^(Start|Idle RSS|RSS per|Private)/.test(v.target))
      .map((v) => v.status);
  assert.deepEqual(startAndMemory(150, 60, 12, 12), [
    "PASS",
    "PASS",
    "PASS",
    "PASS",
  ]);
  assert.deepEqual(startAndMemory(211, 114.4, 52.3, 18.2), [
    "MISS",
    "MISS",
    "MISS",
    "MISS",
  ]);
});

Deno.test("keepaliveSection() shows each phase against its ideal", () => {
  const text = keepaliveSection(KEEPALIVE);
  assert.match(
    text,
    /\| Before scale-up +\| +1 \| +9\.9 \| +10 \| +99% \| +805 \| +800 \| +4\.03x \|/,
  );
  assert.match(
    text,
    /\| After scale-up \(same connections\) +\| +4 \| +36\.0 \| +40 \| +90% \| +220 \| +200 \| +1\.10x \|/,
  );
  assert.match(text, /took 1\.2 s; 120 requests were handed/);
  assert.match(
    renderReport({ meta: META, keepalive: KEEPALIVE }),
    /## Keep-alive scale-up/,
  );
});

Deno.test("evaluateTargets() judges batching against issue 15's bars", () => {
  const at = (rps: number, p50Ms: number, p99Ms: number) => ({
    requests: rps * 5,
    durationS: 5,
    rps,
    p50Ms,
    p99Ms,
    errors: 0,
  });
  const verdicts = evaluateTargets({
    meta: META,
    batching: {
      maxLatencyMs: 100,
      at64: {
        plain: at(180, 350, 360),
        fixed: at(1200, 50, 60),
        adaptive: at(500, 120, 140),
      },
      at1: { plain: at(170, 5.8, 6.5), adaptive: at(160, 6.2, 7) },
      fixedSpeedup: 1200 / 180,
      adaptiveSpeedup: 500 / 180,
      adaptiveP50AddedMs: 0.4,
    },
  }).filter((v) => v.target.startsWith("Batching"));
  assert.deepEqual(verdicts.map((v) => [v.status, v.value]), [
    ["PASS", "6.67x"],
    ["MISS", "2.78x"],
    ["MISS", "140.0 ms"],
    ["PASS", "0.40 ms"],
  ]);
});

const INFERENCE: InferenceResults = {
  plain: { n: 5000, p50Us: 18, p99Us: 40, meanUs: 20 },
  replica: { n: 5000, p50Us: 20, p99Us: 45, meanUs: 24 },
  c1: load(8000, 0.1),
  c8: { ...load(6500, 0.5), errors: 2 },
  readyMs: 1200,
  rss: {
    model: { idleMB: 165, loadedMB: 230 },
    noModel: { idleMB: 60, loadedMB: 135 },
  },
};

Deno.test("modelMemoryMB() is the larger of the idle and after-load differences", () => {
  assert.equal(modelMemoryMB(INFERENCE), 105);
  assert.equal(
    modelMemoryMB({
      ...INFERENCE,
      rss: { ...INFERENCE.rss, noModel: { idleMB: 60, loadedMB: 60 } },
    }),
    170,
  );
});

Deno.test("evaluateTargets() judges inference against issue 14's bars; errors fail a throughput target", () => {
  const verdicts = evaluateTargets({ meta: META, inference: INFERENCE })
    .filter((v) => v.target.startsWith("Inference"));
  assert.deepEqual(verdicts.map((v) => [v.status, v.value]), [
    ["PASS", "1.20x"],
    ["PASS", "8000 req/s"],
    ["MISS", "0 req/s"],
    ["PASS", "105.0 MB"],
  ]);
  const report = renderReport({ meta: META, inference: INFERENCE });
  assert.match(report, /## Model inference \(issue 14\)/);
  assert.match(inferenceSection(INFERENCE), /1\.20x/);
  assert.match(inferenceSection(INFERENCE), /165\.0 MB \/ 60\.0 MB/);
});

Deno.test("evaluateTargets() judges gRPC unary calls/s and streamed messages/s at 64", () => {
  const row = (workload: string, runtime: number) => ({
    workload,
    connections: 64,
    pinned: true,
    runtime: load(runtime, 1),
    raw: load(100, 1),
  });
  const verdicts = evaluateTargets({
    meta: META,
    grpc: { status: "ok", rows: [row("grpc", 60), row("grpc-stream", 90)] },
  });
  const grpc = verdicts.filter((v) => v.target.startsWith("gRPC"));
  assert.deepEqual(grpc.map((v) => [v.target, v.status, v.value]), [
    ["gRPC unary @64 >= 0.80x raw grpc-js", "MISS", "0.60x"],
    [
      "gRPC server streaming messages/s @64 >= 0.80x raw grpc-js",
      "PASS",
      "0.90x",
    ],
  ]);
});

function latencyPoint(
  fraction: number,
  achievedRps: number,
  p99Ms: number,
  unfinished = 0,
): LatencyPoint {
  return {
    fraction,
    requests: 1000,
    offeredRps: fraction * 100_000,
    achievedRps,
    p50Ms: p99Ms / 4,
    p99Ms,
    maxMs: p99Ms * 1.5,
    errors: 0,
    unfinished,
    generatorLagP50Ms: 0.003,
    generatorLagP99Ms: 0.02,
    generatorCpu: 0.25,
    serverCpu: 0.9,
  };
}

const LATENCY: LatencyResults = {
  connections: 64,
  runS: 1.5,
  warmupS: 0.5,
  pinned: true,
  rawMax: {
    rps: 100_000,
    p50Ms: 0.6,
    p99Ms: 2,
    generatorCpu: 0.7,
    serverCpu: 1,
  },
  runtimeMax: {
    rps: 40_000,
    p50Ms: 1.5,
    p99Ms: 9,
    generatorCpu: 0.3,
    serverCpu: 1,
  },
  runtime: [latencyPoint(0.1, 10_000, 0.4), latencyPoint(0.5, 40_000, 800, 9)],
  raw: [latencyPoint(0.1, 10_000, 0.2), latencyPoint(0.5, 50_000, 0.3)],
};

Deno.test("latencySection() lists each rate for both servers and marks lower bounds", () => {
  const section = latencySection(LATENCY);
  const rows = section.split("\n").filter((l) => /^\| +\d+% /.test(l));
  assert.equal(rows.length, 2);
  const cells = (row: string) =>
    row.split("|").slice(1, -1).map((c) => c.trim());
  assert.deepEqual(cells(rows[0]!), [
    "10%",
    "10,000",
    "10,000",
    "0.100",
    "0.400",
    "0.600",
    "10,000",
    "0.050",
    "0.200",
    "0.300",
    "0/0",
    "0/0",
    "25%/25%",
    "20.0/20.0",
    "90%/90%",
  ]);
  // Lower bounds stay right-aligned with the numbers.
  assert.match(section, /\| +>=200 \|/);
  // 9 runtime requests unanswered at 50%: its percentiles are lower bounds.
  assert.deepEqual(cells(rows[1]!).slice(2, 7), [
    "40,000",
    ">=200",
    ">=800",
    ">=1200",
    "50,000",
  ]);
  assert.match(section, /raw 100,000 req\/s \(p50 0\.600 ms, p99 2\.000 ms/);
  assert.match(section, /runtime 40,000 req\/s/);
  assert.match(section, /Generator lag: its own lateness in sending, p99/);
  const report = renderReport({ meta: META, latency: LATENCY });
  assert.match(report, /## Latency vs offered load/);
  assert.match(
    renderReport({ meta: META }),
    /## Latency vs offered load[^#]*Not run\./,
  );
});
