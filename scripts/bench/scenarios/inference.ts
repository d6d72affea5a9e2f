/**
 * The inference scenario (issue 14), for examples/onnx's model
 * (onnxruntime-web, WASM, one thread; scripts/bench/projects/onnx):
 * per-inference latency inside a replica vs the same code in plain
 * `deno run`; end-to-end req/s at c=1 and c=8 (wrk, one replica, access log
 * off); start-to-ready time; and the resident memory of the model's replica
 * against a no-model replica (projects/echo) in the same state: idle after
 * the same warm-up requests, and again after the same load.
 *
 * @module
 */

import { join } from "node:path";
import { collect, descendants, readProc, rssMB, sleep } from "../proc.ts";
import {
  PROJECTS,
  REPO,
  type RuntimeServer,
  startRuntime,
} from "../servers.ts";
import { runWrk } from "../wrk.ts";
import type { BenchContext, InferenceResults, Timing } from "../types.ts";

const PROJECT = join(PROJECTS, "onnx");
const BODY = {
  file: join(PROJECT, "body.json"),
  contentType: "application/json",
};
/** Seconds per wrk run: the scenario stays under ~40 s. */
const MAX_LOAD_S = 5;

/** RSS of each replica process of a server (its command runs process_main). */
async function replicaRss(server: RuntimeServer): Promise<number> {
  let total = 0;
  for (const pid of await descendants(await server.supervisorPid())) {
    const cmd = await readProc(`/proc/${pid}/cmdline`).catch(() => "");
    if (cmd.includes("process_main.ts")) total += await rssMB(pid);
  }
  return total;
}

/** RSS once it stops moving. */
async function settledRss(server: RuntimeServer): Promise<number> {
  let last = await replicaRss(server);
  for (let i = 0; i < 20; i++) {
    await sleep(250);
    const now = await replicaRss(server);
    if (Math.abs(now - last) < 0.25) return now;
    last = now;
  }
  return last;
}

/** The same warm-up for both replicas: 20 single requests. */
async function warm(url: string): Promise<void> {
  const body = await Deno.readTextFile(BODY.file);
  for (let i = 0; i < 20; i++) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": BODY.contentType },
      body,
    });
    await res.body?.cancel();
  }
}

/** Runs the inference measurements. */
export async function inferenceScenario(
  ctx: BenchContext,
): Promise<InferenceResults> {
  const same = (a: Uint8Array, b: Uint8Array) =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  if (
    !same(
      await Deno.readFile(join(PROJECT, "model.onnx")),
      await Deno.readFile(join(REPO, "examples/onnx/model.onnx")),
    )
  ) throw new Error("scripts/bench/projects/onnx/model.onnx is stale");
  const durationS = Math.min(ctx.durationS, MAX_LOAD_S);

  // 1. Plain deno run, no sandbox.
  const plain = await collect([
    Deno.execPath(),
    "run",
    "--no-config",
    "--no-lock",
    "--cached-only",
    "--allow-read",
    join(PROJECT, "plain.ts"),
  ]);
  if (plain.code !== 0) throw new Error(`plain.ts failed: ${plain.stderr}`);
  const plainTiming = JSON.parse(
    plain.stdout.trim().split("\n").at(-1)!,
  ) as Timing;

  // 2. In a replica; start-to-ready from spawn to /healthz 200.
  const started = performance.now();
  const server = await startRuntime({
    project: PROJECT,
    cpus: ctx.cpus.server,
    args: ["--no-access-log"],
  });
  const readyMs = performance.now() - started;
  let replicaTiming: Timing, c1, c8, modelIdle: number, modelLoaded: number;
  try {
    const url = `http://127.0.0.1:${server.port}/iris`;
    await warm(url);
    modelIdle = await settledRss(server);
    replicaTiming = await (await fetch(url)).json();
    const load = { url, body: BODY, cpus: ctx.cpus.load };
    await runWrk({ ...load, connections: 8, durationS: 1 });
    c1 = await runWrk({ ...load, connections: 1, durationS });
    c8 = await runWrk({ ...load, connections: 8, durationS });
    modelLoaded = await settledRss(server);
  } finally {
    await server.stop();
  }
  ctx.log(
    `  in a replica ${replicaTiming.meanUs.toFixed(1)} µs, plain ${
      plainTiming.meanUs.toFixed(1)
    } µs; c=1 ${c1.rps.toFixed(0)} req/s, c=8 ${c8.rps.toFixed(0)} req/s`,
  );

  // 3. A replica without a model, in the same states.
  const echo = await startRuntime({
    project: join(PROJECTS, "echo"),
    cpus: ctx.cpus.server,
    args: ["--api", "echo", "--no-access-log"],
  });
  let echoIdle: number, echoLoaded: number;
  try {
    const url = `http://127.0.0.1:${echo.port}/echo`;
    await warm(url);
    echoIdle = await settledRss(echo);
    const load = { url, body: BODY, cpus: ctx.cpus.load };
    await runWrk({ ...load, connections: 8, durationS: 1 });
    await runWrk({ ...load, connections: 1, durationS });
    await runWrk({ ...load, connections: 8, durationS });
    echoLoaded = await settledRss(echo);
  } finally {
    await echo.stop();
  }
  ctx.log(
    `  replica RSS idle ${modelIdle.toFixed(1)} MB (no model ${
      echoIdle.toFixed(1)
    }), after load ${modelLoaded.toFixed(1)} MB (no model ${
      echoLoaded.toFixed(1)
    })`,
  );
  return {
    plain: plainTiming,
    replica: replicaTiming,
    c1,
    c8,
    readyMs,
    rss: {
      model: { idleMB: modelIdle, loadedMB: modelLoaded },
      noModel: { idleMB: echoIdle, loadedMB: echoLoaded },
    },
  };
}
