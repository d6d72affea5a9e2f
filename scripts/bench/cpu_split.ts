/**
 * Where the CPU goes under load (issue 17): a workload at 64 connections with
 * the server pinned to CPU 0 and the load generator to CPU 1, and the CPU
 * seconds each process of the runtime used during the run (from
 * /proc/<pid>/stat), per request (per call for gRPC), next to the raw
 * baseline's. Runtime and raw alternate, `--rounds` times, so background load
 * hits both alike.
 *
 * Workloads: `http` (JSON echo, wrk, vs raw `Deno.serve`), `grpc` (unary
 * echo) and `grpc-stream` (a server-streaming call of 100 replies; CPU per
 * message), both with `grpc_load.mjs` against raw grpc-js under Deno.
 *
 * ```sh
 * ./deno task bench:cpu                # http, 2 rounds of 4 s runs
 * ./deno task bench:cpu --workload grpc --rounds 3 --duration 5
 * ./deno task bench:cpu --base /tmp/old-checkout --rounds 6   # A/B, http
 * ```
 *
 * With `--base DIR` (http only) each round also runs the runtime of another
 * checkout (DIR, with its own `deno task serve`) next to this one's, first in
 * odd rounds and second in even ones: old and new builds measured alternately
 * under the same conditions.
 *
 * @module
 */

import { create, toBinary } from "@bufbuild/protobuf";
import { parseArgs } from "node:util";
import { writeWorkloads } from "./bodies.ts";
import { runGrpcLoad } from "./grpc_load.ts";
import {
  type CpuSplit,
  cpuSplit,
  descendants,
  readProc,
  waitQuiet,
} from "./proc.ts";
import { EchoRequestSchema } from "./projects/grpc_echo/gen/echo_pb.ts";
import {
  checkGrpc,
  PROJECTS,
  type RunningServer,
  type RuntimeServer,
  startRawGrpc,
  startRawHttp,
  startRuntime,
} from "./servers.ts";
import { runWrk } from "./wrk.ts";

const SERVER_CPU = "0";
const LOAD_CPU = "1";
const CONNECTIONS = 64;
const WORKLOADS = ["http", "grpc", "grpc-stream"] as const;
type Workload = typeof WORKLOADS[number];

/** One measured run: throughput and CPU us per unit, by process. */
export interface Measured {
  /** Requests (calls; messages for grpc-stream) per second. */
  rate: number;
  errors: number;
  usPerUnit: { role: string; us: number; userUs: number; systemUs: number }[];
}

/** Names a runtime process by its command line. */
export function roleOf(cmdline: string): string {
  if (cmdline.includes("grpc_process/main.ts")) return "gRPC process";
  if (cmdline.includes("process_main.ts")) return "replica";
  if (cmdline.includes("serve_main.ts")) return "serving process";
  if (cmdline.includes("cli.ts")) return "supervisor";
  if (/\btask\b/.test(cmdline)) return "deno task";
  return "other";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function rolesOf(pids: number[]): Promise<string[]> {
  return await Promise.all(pids.map(async (pid) => {
    try {
      return roleOf(
        (await readProc(`/proc/${pid}/cmdline`)).replaceAll("\0", " "),
      );
    } catch {
      return "gone";
    }
  }));
}

/** One load run: warms up, calls `mark` around the measured part. */
type Load = (
  durationS: number,
  mark: (phase: "measure" | "measured") => Promise<void>,
) => Promise<{ units: number; durationS: number; errors: number }>;

/** Runs `load`, reading every process's CPU around its measured part. */
async function measure(
  server: RunningServer,
  load: Load,
  durationS: number,
): Promise<Measured> {
  const pids = [server.proc.pid, ...await descendants(server.proc.pid)];
  const roles = await rolesOf(pids);
  let before: CpuSplit[] = [];
  let after: CpuSplit[] = [];
  const r = await load(durationS, async (phase) => {
    const cpu = await Promise.all(pids.map(cpuSplit));
    if (phase === "measure") before = cpu;
    else after = cpu;
  });
  return {
    rate: r.units / r.durationS,
    errors: r.errors,
    usPerUnit: pids.map((_, i) => {
      const userUs = (after[i]!.user - before[i]!.user) / r.units * 1e6;
      const systemUs = (after[i]!.system - before[i]!.system) / r.units * 1e6;
      return { role: roles[i]!, us: userUs + systemUs, userUs, systemUs };
    }),
  };
}

async function httpRound(
  dir: string,
  durationS: number,
  baseRepo: string | null,
  round: number,
) {
  const body = (await writeWorkloads(dir)).find((w) => w.name === "json")!;
  const wrk = (server: RunningServer): Load => async (s, mark) => {
    const load = {
      url: `http://127.0.0.1:${server.port}/echo`,
      connections: CONNECTIONS,
      body,
      cpus: LOAD_CPU,
    };
    await runWrk({ ...load, durationS: 1 });
    await mark("measure");
    const r = await runWrk({ ...load, durationS: s });
    await mark("measured");
    return { units: r.requests, durationS: r.durationS, errors: r.errors };
  };
  const runtimeOf = async (repo?: string) => {
    const runtime = await startRuntime({
      project: repo === undefined
        ? `${PROJECTS}echo`
        : `${repo}/scripts/bench/projects/echo`,
      cpus: SERVER_CPU,
      args: ["--api", "echo"],
      repo,
    });
    try {
      return await measure(runtime, wrk(runtime), durationS);
    } finally {
      await runtime.stop();
    }
  };
  // The two builds swap places every round: whichever runs first in a round
  // meets the machine as the wait for quiet left it.
  let old: Measured | null = null;
  if (baseRepo !== null && round % 2 === 1) old = await runtimeOf(baseRepo);
  const rt = await runtimeOf();
  if (baseRepo !== null && round % 2 === 0) old = await runtimeOf(baseRepo);
  const raw = await startRawHttp(SERVER_CPU);
  try {
    return { old, rt, base: await measure(raw, wrk(raw), durationS) };
  } finally {
    await raw.stop();
  }
}

/** One line of CPU per unit by process, user and system apart. */
export function cpuLine(m: Measured, unit: string): string {
  const total = m.usPerUnit.reduce((a, b) => a + b.us, 0);
  const user = m.usPerUnit.reduce((a, b) => a + b.userUs, 0);
  return `CPU us/${unit}: ${
    m.usPerUnit.map(({ role, us, userUs, systemUs }) =>
      `${role} ${us.toFixed(2)} (user ${userUs.toFixed(1)}, sys ${
        systemUs.toFixed(1)
      })`
    ).join(", ")
  }; total ${total.toFixed(2)} (user ${user.toFixed(1)}, sys ${
    (total - user).toFixed(1)
  })`;
}

async function grpcRound(streaming: boolean, durationS: number) {
  const message = toBinary(
    EchoRequestSchema,
    create(EchoRequestSchema, { text: "hello from grpc_load" }),
  );
  const path = streaming ? "/bench.v1.Echo/Stream" : "/bench.v1.Echo/Say";
  // One run with its warm-up: closing connections between runs can abort
  // a grpc-js server under Deno (denoland/deno#36788).
  const calls = (port: number): Load => async (s, mark) => {
    const r = await runGrpcLoad({
      port,
      path,
      message,
      connections: CONNECTIONS,
      durationS: s,
      warmupS: 1,
      cpus: LOAD_CPU,
      onPhase: mark,
    });
    return {
      units: streaming ? r.messages : r.requests,
      durationS: r.durationS,
      errors: r.errors,
    };
  };
  const runtime: RuntimeServer = await startRuntime({
    project: `${PROJECTS}grpc_echo`,
    cpus: SERVER_CPU,
  });
  let rt;
  try {
    const error = await checkGrpc(runtime.grpcPort);
    if (error !== null) {
      throw new Error(`The runtime does not answer: ${error}`);
    }
    rt = await measure(runtime, calls(runtime.grpcPort), durationS);
  } finally {
    await runtime.stop();
  }
  const raw = await startRawGrpc(SERVER_CPU);
  try {
    return {
      old: null,
      rt,
      base: await measure(raw, calls(raw.port), durationS),
    };
  } finally {
    await raw.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string" },
      duration: { type: "string" },
      workload: { type: "string", default: "http" },
      base: { type: "string" },
    },
  });
  const rounds = Number(values.rounds ?? 2);
  const durationS = Number(values.duration ?? 4);
  const workload = values.workload as Workload;
  if (!(rounds >= 1) || !(durationS >= 1)) {
    throw new RangeError("--rounds and --duration: expected numbers >= 1");
  }
  if (!WORKLOADS.includes(workload)) {
    throw new RangeError(
      `--workload: expected one of ${WORKLOADS.join(", ")}, got "${workload}"`,
    );
  }
  const baseRepo = values.base ?? null;
  if (baseRepo !== null && workload !== "http") {
    throw new RangeError(
      `--base: A/B runs take the http workload only, got "${workload}"`,
    );
  }
  if (baseRepo !== null && !(await exists(`${baseRepo}/cli.ts`))) {
    throw new RangeError(
      `--base: "${baseRepo}" is not a checkout of this runtime (no cli.ts)`,
    );
  }
  const unit = workload === "grpc-stream"
    ? "message"
    : workload === "grpc"
    ? "call"
    : "request";
  const encoder = new TextEncoder();
  const out = (line: string) =>
    Deno.stdout.writeSync(encoder.encode(line + "\n"));
  const dir = await Deno.makeTempDir({ prefix: "cortex-bench-cpu-" });
  try {
    for (let round = 1; round <= rounds; round++) {
      const busy = await waitQuiet(30, out);
      out(`Round ${round} (machine ${(busy * 100).toFixed(0)}% busy before)`);
      const { old, rt, base } = workload === "http"
        ? await httpRound(dir, durationS, baseRepo, round)
        : await grpcRound(workload === "grpc-stream", durationS);
      const total = rt.usPerUnit.reduce((a, b) => a + b.us, 0);
      const baseTotal = base.usPerUnit.reduce((a, b) => a + b.us, 0);
      const errors = rt.errors + base.errors + (old?.errors ?? 0);
      out(
        "  " + (old === null
          ? ""
          : `base runtime ${old.rate.toFixed(0)} ${unit}s/s (${
            (old.rate / base.rate).toFixed(2)
          }x), `) +
          `runtime ${rt.rate.toFixed(0)} ${unit}s/s, raw ${
            base.rate.toFixed(0)
          } ${unit}s/s (${(rt.rate / base.rate).toFixed(2)}x)` +
          (errors ? `, ${errors} errors` : ""),
      );
      if (old !== null) {
        out(`  base runtime ${cpuLine(old, unit)}`);
      }
      out(`  runtime ${cpuLine(rt, unit)}`);
      out(
        `  raw ${cpuLine(base, unit)}; CPU ratio ${
          (baseTotal / total).toFixed(2)
        }x`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
