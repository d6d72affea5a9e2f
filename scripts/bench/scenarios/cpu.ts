/**
 * A CPU-bound handler (about 5 ms of CPU per request): throughput with one
 * replica against two, the server free to use both cores.
 *
 * @module
 */

import { PROJECTS, settle, startRuntime } from "../servers.ts";
import { median } from "../stats.ts";
import type { BenchContext, CpuResults, LoadResult } from "../types.ts";
import { measure } from "./measure.ts";

const CONNECTIONS = 16;

/** The handler's own timing of its work, median of a few sequential calls. */
async function burnMs(url: string): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    samples.push((await res.json() as { ms: number }).ms);
  }
  return median(samples);
}

async function run(
  ctx: BenchContext,
  api: string,
  body: { file: string; contentType: string },
): Promise<{ load: LoadResult; burnMs: number }> {
  const server = await startRuntime({
    project: `${PROJECTS}cpu`,
    cpus: ctx.cpus.all,
    args: ["--api", api],
  });
  try {
    await settle();
    const url = `http://127.0.0.1:${server.port}/${api}`;
    const burn = await burnMs(url);
    return { load: await measure(ctx, url, body, CONNECTIONS), burnMs: burn };
  } finally {
    await server.stop();
  }
}

/** Runs the one-against-two-replicas comparison. */
export async function cpuScenario(ctx: BenchContext): Promise<CpuResults> {
  const body = {
    file: `${ctx.tmpDir}/cpu.json`,
    contentType: "application/json",
  };
  await Deno.writeTextFile(body.file, "{}");
  const one = await run(ctx, "cpu", body);
  ctx.log(
    `  cpu 1 replica: ${one.load.rps.toFixed(0)} req/s, p50 ${
      one.load.p50Ms.toFixed(1)
    } ms (work ${one.burnMs.toFixed(2)} ms)`,
  );
  const two = await run(ctx, "cpu-2", body);
  ctx.log(
    `  cpu 2 replicas: ${two.load.rps.toFixed(0)} req/s, p50 ${
      two.load.p50Ms.toFixed(1)
    } ms (work ${two.burnMs.toFixed(2)} ms)`,
  );
  return {
    burnMs: median([one.burnMs, two.burnMs]),
    connections: CONNECTIONS,
    one: one.load,
    two: two.load,
    speedup: two.load.rps / one.load.rps,
  };
}
