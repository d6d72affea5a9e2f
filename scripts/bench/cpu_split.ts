/**
 * Where the CPU goes under load (issue 17): the JSON echo at 64 connections
 * with the server pinned to CPU 0 and wrk to CPU 1, and the CPU seconds each
 * process of the runtime used during the run (from /proc/<pid>/stat), per
 * request, next to raw `Deno.serve`'s. Runtime and raw alternate, `--rounds`
 * times, so background load hits both alike.
 *
 * ```sh
 * ./deno task bench:cpu                # 2 rounds of 4 s runs
 * ./deno task bench:cpu --rounds 3 --duration 5
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { writeWorkloads } from "./bodies.ts";
import { cpuSeconds, descendants, waitQuiet } from "./proc.ts";
import {
  PROJECTS,
  type RunningServer,
  startRawHttp,
  startRuntime,
} from "./servers.ts";
import { runWrk } from "./wrk.ts";

const SERVER_CPU = "0";
const LOAD_CPU = "1";
const CONNECTIONS = 64;

/** The runtime's processes, as `deno task serve` starts them. */
const ROLES = ["deno task", "supervisor", "serving process", "replica"];

async function measure(
  server: RunningServer,
  body: { file: string; contentType: string },
  durationS: number,
): Promise<{ rps: number; errors: number; usPerRequest: number[] }> {
  const pids = [server.proc.pid, ...await descendants(server.proc.pid)];
  const url = `http://127.0.0.1:${server.port}/echo`;
  const load = { url, connections: CONNECTIONS, body, cpus: LOAD_CPU };
  await runWrk({ ...load, durationS: 1 });
  const before = await Promise.all(pids.map(cpuSeconds));
  const r = await runWrk({ ...load, durationS });
  const after = await Promise.all(pids.map(cpuSeconds));
  return {
    rps: r.rps,
    errors: r.errors,
    usPerRequest: pids.map((_, i) =>
      (after[i]! - before[i]!) / r.requests * 1e6
    ),
  };
}

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string" }, duration: { type: "string" } },
});
const rounds = Number(values.rounds ?? 2);
const durationS = Number(values.duration ?? 4);
if (!(rounds >= 1) || !(durationS >= 1)) {
  throw new RangeError("--rounds and --duration: expected numbers >= 1");
}
const encoder = new TextEncoder();
const out = (line: string) =>
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
const dir = await Deno.makeTempDir({ prefix: "cortex-bench-cpu-" });
try {
  const json = (await writeWorkloads(dir)).find((w) => w.name === "json")!;
  for (let round = 1; round <= rounds; round++) {
    const busy = await waitQuiet(30, out);
    out(`Round ${round} (machine ${(busy * 100).toFixed(0)}% busy before)`);
    const runtime = await startRuntime({
      project: `${PROJECTS}echo`,
      cpus: SERVER_CPU,
      args: ["--api", "echo"],
    });
    let rt;
    try {
      rt = await measure(runtime, json, durationS);
    } finally {
      await runtime.stop();
    }
    const raw = await startRawHttp(SERVER_CPU);
    let base;
    try {
      base = await measure(raw, json, durationS);
    } finally {
      await raw.stop();
    }
    const total = rt.usPerRequest.reduce((a, b) => a + b, 0);
    out(
      `  runtime ${rt.rps.toFixed(0)} req/s, raw ${base.rps.toFixed(0)} req/s` +
        ` (${(rt.rps / base.rps).toFixed(2)}x)` +
        (rt.errors + base.errors ? `, ${rt.errors + base.errors} errors` : ""),
    );
    out(
      `  CPU us/request: ${
        rt.usPerRequest.map((us, i) =>
          `${ROLES[i] ?? `process ${i}`} ${us.toFixed(2)}`
        ).join(", ")
      }; runtime total ${total.toFixed(2)}; raw Deno.serve ${
        base.usPerRequest[0]!.toFixed(2)
      }`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
