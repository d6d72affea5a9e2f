import assert from "node:assert/strict";
import {
  benchAverages,
  lowestAverages,
  renderStages,
  stageCosts,
  STAGES,
  WHOLE,
  wholeRequest,
} from "./stages.ts";
import type { BenchResults, LoadResult } from "./types.ts";

/** Every bench a stage names, at 100 ns, plus `extra`. */
function averages(extra: Record<string, number> = {}): Map<string, number> {
  const avg = new Map<string, number>();
  for (const s of STAGES) {
    for (const name of [s.bench, s.minus, s.raw?.bench, s.raw?.minus]) {
      if (name !== undefined) avg.set(name, 100);
    }
  }
  for (const [k, v] of Object.entries(extra)) avg.set(k, v);
  return avg;
}

Deno.test("benchAverages() and lowestAverages() read deno bench --json", () => {
  const run = (avg: number) =>
    benchAverages({
      benches: [
        { name: "a", results: [{ ok: { avg, n: 10 } }] },
        { name: "failed", results: [{}] },
      ],
    });
  assert.deepEqual([...run(5)], [["a", 5]]);
  assert.deepEqual([...lowestAverages([run(4), run(9), run(3)])], [["a", 3]]);
});

Deno.test("stageCosts() subtracts baselines and divides batches per line", () => {
  const costs = stageCosts(averages({
    "payload: new Request + parsePayload (JSON)": 1_500,
    "payload: new Request (JSON body), no parse": 1_000,
    "payload: new Request + req.json() (raw Deno)": 1_300,
    "log check: ownLines, batch of 100 access records (rendered)": 90_000,
  }));
  const by = (stage: string) => costs.find((c) => c.spec.stage === stage)!;
  assert.equal(by("payload parse (JSON, 150 B)").ns, 500);
  assert.equal(by("payload parse (JSON, 150 B)").rawNs, 300);
  assert.equal(by("access line: render + check").ns, 900);
  assert.equal(by("request id").rawNs, null);
});

Deno.test("stageCosts() names a missing bench", () => {
  const avg = averages();
  avg.delete(STAGES[0]!.bench);
  assert.throws(() => stageCosts(avg), /No result for bench "request id/);
});

const load = (rps: number): LoadResult => ({
  requests: rps,
  durationS: 1,
  rps,
  p50Ms: 1,
  p99Ms: 1,
  errors: 0,
});

Deno.test("renderStages() shows sums, the in-process pipeline and raw Deno.serve", () => {
  const results: BenchResults = {
    meta: {
      date: "2026-01-01T00:00:00.000Z",
      deno: "2.9.6",
      v8: "x",
      cpuModel: "CPU",
      cores: 2,
      kernel: "6",
      durationS: 3,
      warmupS: 1,
      cpus: { server: "0", load: "1", all: "0-1" },
      busyBefore: {},
    },
    http: {
      rows: [{
        workload: "json",
        connections: 1,
        pinned: true,
        runtime: load(10_000),
        raw: load(20_000),
      }],
      runtimeLogLines: 0,
      runtimeRequests: 0,
    },
  };
  const whole = wholeRequest(results);
  assert.deepEqual(whole?.byConnections.get(1), {
    raw: 50_000,
    runtime: 100_000,
  });
  const text = renderStages(
    averages({ [WHOLE.raw]: 6_000, [WHOLE.pipeline]: 15_000 }),
    whole,
  );
  assert.match(text, /\| \*\*sum, replica\*\* +\| replica/);
  assert.match(text, /Pipeline over the raw echo, in-process +\| +9,000 \|/);
  assert.match(
    text,
    /Raw Deno\.serve, whole request over loopback, wrk c=1 .*\| +50,000 \|/,
  );
  assert.match(text, /x-request-id \(within encode\)/);
});

Deno.test("every bench the budget names is defined in a src/**/*_bench.ts", async () => {
  const src = new URL("../../src/", import.meta.url);
  let text = "";
  const walk = async (dir: URL) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(new URL(`${e.name}/`, dir));
      else if (e.name.endsWith("_bench.ts")) {
        text += await Deno.readTextFile(new URL(e.name, dir));
      }
    }
  };
  await walk(src);
  const names = new Set(
    [...text.matchAll(/name:\s*`([^`]+)`|name:\s*"([^"]+)"/g)].map((m) =>
      (m[1] ?? m[2]!).replace("${BATCH}", "100")
    ),
  );
  for (const s of STAGES) {
    for (const name of [s.bench, s.minus, s.raw?.bench, s.raw?.minus]) {
      if (name !== undefined) assert.ok(names.has(name), name);
    }
  }
  assert.ok(names.has(WHOLE.raw) && names.has(WHOLE.pipeline));
});
