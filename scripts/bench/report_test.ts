import assert from "node:assert/strict";
import { fmtMs, markdownTable } from "./report.ts";
import { evaluateTargets } from "./targets.ts";
import type { BenchResults, LoadResult } from "./types.ts";

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
      reason: "src/grpc/server.ts does not exist",
    },
    startup: { project: "examples/hello", samplesMs: [250], medianMs: 250 },
  });
  assert.deepEqual(verdicts.map((v) => [v.status, v.value]), [
    ["PASS", "0.80x"],
    ["MISS", "0.50x"],
    ["MISS", "0.700 ms"],
    ["n/a", "gRPC: not available"],
    ["PASS", "250 ms"],
    ["n/a", "not measured"],
    ["n/a", "not measured"],
  ]);
});
