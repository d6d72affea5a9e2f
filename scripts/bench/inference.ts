/**
 * The inference scenario (issue 14), on its own:
 * `deno run -A scripts/bench/inference.ts [--duration 10]`.
 *
 * Measures, for examples/onnx's model (onnxruntime-web, WASM, one thread):
 * per-inference latency inside a replica vs the same code in plain
 * `deno run`; end-to-end req/s at c=1 and c=8 (wrk, one replica, access log
 * off); start-to-ready time; and the resident memory of the replica vs a
 * no-model replica (the echo project).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { collect, descendants, readProc, rssMB, sleep } from "./proc.ts";
import { PROJECTS, REPO, startRuntime } from "./servers.ts";
import { runWrk } from "./wrk.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { duration: { type: "string", default: "10" } },
});
const durationS = Number(values.duration);
const project = join(PROJECTS, "onnx");
const out = (line: string) =>
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

// The bench's model is the example's.
const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((v, i) => v === b[i]);
if (
  !same(
    await Deno.readFile(join(project, "model.onnx")),
    await Deno.readFile(join(REPO, "examples/onnx/model.onnx")),
  )
) throw new Error("scripts/bench/projects/onnx/model.onnx is stale");

/** The replica processes under a server (their command runs process_main). */
async function replicaRss(supervisor: number): Promise<number[]> {
  const out: number[] = [];
  for (const pid of await descendants(supervisor)) {
    const cmd = await readProc(`/proc/${pid}/cmdline`).catch(() => "");
    if (cmd.includes("process_main.ts")) out.push(await rssMB(pid));
  }
  return out;
}

// 1. Plain deno run.
const plain = await collect([
  Deno.execPath(),
  "run",
  "--no-config",
  "--no-lock",
  "--cached-only",
  `--allow-read`,
  join(project, "plain.ts"),
]);
if (plain.code !== 0) throw new Error(`plain.ts failed: ${plain.stderr}`);
const plainTiming = JSON.parse(plain.stdout.trim().split("\n").at(-1)!);

// 2. In a replica; start-to-ready from spawn to /healthz 200.
const started = performance.now();
const server = await startRuntime({
  project,
  cpus: null,
  args: ["--no-access-log"],
});
const readyMs = performance.now() - started;
try {
  const url = `http://127.0.0.1:${server.port}/iris`;
  const replicaTiming = await (await fetch(url)).json();
  const body = {
    file: join(project, "body.json"),
    contentType: "application/json",
  };
  await runWrk({ url, connections: 8, durationS: 2, body, cpus: null }); // warm
  const c1 = await runWrk({ url, connections: 1, durationS, body, cpus: null });
  const c8 = await runWrk({ url, connections: 8, durationS, body, cpus: null });
  await sleep(300);
  const modelRss = await replicaRss(await server.supervisorPid());
  // A replica without a model, for comparison.
  const echo = await startRuntime({
    project: join(PROJECTS, "echo"),
    cpus: null,
    args: ["--api", "echo"],
  });
  let echoRss: number[];
  try {
    await sleep(300);
    echoRss = await replicaRss(await echo.supervisorPid());
  } finally {
    await echo.stop();
  }
  const f = (n: number, d = 1) => n.toFixed(d);
  out(`| measure | value |`);
  out(`| --- | --- |`);
  out(
    `| per inference, plain deno run (p50 / p99 / mean) | ${
      f(plainTiming.p50Us)
    } / ${f(plainTiming.p99Us)} / ${f(plainTiming.meanUs)} µs |`,
  );
  out(
    `| per inference, in a replica (p50 / p99 / mean) | ${
      f(replicaTiming.p50Us)
    } / ${f(replicaTiming.p99Us)} / ${f(replicaTiming.meanUs)} µs |`,
  );
  out(
    `| replica / plain (mean) | ${
      f(replicaTiming.meanUs / plainTiming.meanUs, 2)
    }x |`,
  );
  for (const [c, r] of [[1, c1], [8, c8]] as const) {
    out(
      `| end to end, c=${c}, one replica | ${f(r.rps, 0)} req/s, p50 ${
        f(r.p50Ms, 2)
      } ms, p99 ${f(r.p99Ms, 2)} ms, ${r.errors} errors |`,
    );
  }
  out(
    `| start to ready (serve spawned → /healthz 200) | ${f(readyMs, 0)} ms |`,
  );
  out(
    `| replica RSS, model / no model (echo) | ${modelRss.map((r) => f(r))} / ${
      echoRss.map((r) => f(r))
    } MB |`,
  );
} finally {
  await server.stop();
}
