/**
 * `deno task bench`: runs every scenario on this machine, prints a Markdown
 * report and writes it with the raw results (JSON) and a chart (SVG) to
 * bench-results/.
 *
 * @module
 */

import { collect, readProc, waitQuiet } from "./proc.ts";
import { parseBenchArgs, USAGE } from "./options.ts";
import { renderReport } from "./report.ts";
import { renderChart } from "./svg.ts";
import { renderLatencyChart } from "./latency_svg.ts";
import { REPO } from "./servers.ts";
import { cpuScenario } from "./scenarios/cpu.ts";
import { grpcScenario } from "./scenarios/grpc.ts";
import { httpScenario } from "./scenarios/http.ts";
import { keepaliveScenario } from "./scenarios/keepalive.ts";
import { batchingScenario } from "./scenarios/batching.ts";
import { memoryScenario } from "./scenarios/memory.ts";
import { inferenceScenario } from "./scenarios/inference.ts";
import { startupScenario } from "./scenarios/startup.ts";
import { latencyScenario } from "./scenarios/latency.ts";
import type {
  BenchContext,
  BenchResults,
  ComparisonRow,
  Placement,
} from "./types.ts";

const encoder = new TextEncoder();

function print(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

function log(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text + "\n"));
}

/** Server on CPU 0 and load on CPU 1 when there are 2+ cores and taskset works. */
async function placement(cores: number): Promise<Placement> {
  if (cores < 2) return { server: null, load: null, all: null };
  const probe = await collect(["taskset", "-c", "0", "true"]).catch(() => null);
  if (probe?.code !== 0) return { server: null, load: null, all: null };
  return { server: "0", load: "1", all: `0-${cores - 1}` };
}

async function machine() {
  const cpuinfo = await readProc("/proc/cpuinfo").catch(() => "");
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ??
      "unknown CPU",
    kernel: (await readProc("/proc/sys/kernel/osrelease").catch(() => "?"))
      .trim(),
  };
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseBenchArgs(Deno.args);
  } catch (error) {
    log(`Error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    print(USAGE);
    return 0;
  }
  const started = performance.now();
  const cores = navigator.hardwareConcurrency;
  const cpus = await placement(cores);
  if (cpus.load !== null) {
    // The bench drains the runtime's stdout: keep that work off the server's core.
    await collect(["taskset", "-a", "-p", "-c", cpus.load, String(Deno.pid)]);
  }
  const tmpDir = await Deno.makeTempDir({ prefix: "cortex-bench-" });
  const ctx: BenchContext = {
    durationS: opts.durationS,
    warmupS: opts.warmupS,
    tmpDir,
    cpus,
    log,
  };
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      cores,
      ...await machine(),
      durationS: opts.durationS,
      warmupS: opts.warmupS,
      cpus,
      busyBefore: {},
    },
  };
  const fail = (error: unknown) => ({
    error: String((error as Error)?.stack ?? error),
  });
  try {
    for (const name of opts.only) {
      const busy = await waitQuiet(opts.quietWaitS, log);
      results.meta.busyBefore[name] = busy;
      log(`== ${name} (machine ${(busy * 100).toFixed(0)}% busy before it)`);
      switch (name) {
        case "http":
          results.http = await httpScenario(ctx).catch(fail);
          break;
        case "grpc":
          results.grpc = await grpcScenario(ctx).catch((error) => ({
            status: "failed" as const,
            reason: String((error as Error)?.stack ?? error),
          }));
          if (results.grpc.status !== "ok") {
            log(`gRPC: ${results.grpc.status}: ${results.grpc.reason}`);
          }
          break;
        case "startup":
          results.startup = await startupScenario(ctx).catch(fail);
          break;
        case "memory":
          results.memory = await memoryScenario(ctx).catch(fail);
          break;
        case "cpu":
          results.cpu = await cpuScenario(ctx).catch(fail);
          break;
        case "keepalive":
          results.keepalive = await keepaliveScenario(ctx).catch(fail);
          break;
        case "batching":
          results.batching = await batchingScenario(ctx).catch(fail);
          break;
        case "inference":
          results.inference = await inferenceScenario(ctx).catch(fail);
          break;
        case "latency":
          results.latency = await latencyScenario(ctx).catch(fail);
          break;
      }
      const failed = results[name];
      if (failed && "error" in failed) log(`${name} failed: ${failed.error}`);
    }
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
  results.meta.elapsedS = Math.round((performance.now() - started) / 1000);

  const report = renderReport(results);
  print(report);
  const outDir = opts.outDir.startsWith("/")
    ? opts.outDir
    : `${REPO}${opts.outDir}`;
  await Deno.mkdir(outDir, { recursive: true });
  const stamp = results.meta.date.replace(/[:.]/g, "-");
  const rows: ComparisonRow[] = [
    ...(results.http && "rows" in results.http ? results.http.rows : []),
    ...(results.grpc?.status === "ok" ? results.grpc.rows : []),
  ];
  const chart = renderChart(
    rows,
    `${
      results.meta.date.slice(0, 16)
    }, Deno ${results.meta.deno}, ${cores} cores (${results.meta.cpuModel}), ` +
      `${opts.durationS} s runs`,
  );
  const json = JSON.stringify(results, null, 2) + "\n";
  const files: Array<[string, string]> = [
    [`bench-${stamp}.json`, json],
    ["latest.json", json],
    ["latest.md", report],
    ["latest.svg", chart],
  ];
  if (results.latency && "raw" in results.latency) {
    files.push([
      "latency.svg",
      renderLatencyChart(
        results.latency,
        `${
          results.meta.date.slice(0, 16)
        }, Deno ${results.meta.deno}, ${cores} cores (${results.meta.cpuModel}), ` +
          `${results.latency.runS} s per rate`,
      ),
    ]);
  }
  for (const [name, text] of files) {
    await Deno.writeTextFile(`${outDir}/${name}`, text);
  }
  log(
    `Wrote ${outDir}/${
      files.slice(1).map(([name]) => name).join(", ")
    } and bench-${stamp}.json (${results.meta.elapsedS} s)`,
  );
  return 0;
}

Deno.exit(await main());
