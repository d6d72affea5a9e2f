/**
 * A CPU-bound handler (about 5 ms of CPU per request): throughput with one
 * replica against two, the server free to use both cores.
 *
 * @module
 */

import { PROJECTS, settle, startRuntime } from "../servers.ts";
import type { BenchContext, CpuResults, LoadResult } from "../types.ts";
import { measure } from "./measure.ts";

const CONNECTIONS = 16;

async function run(
  ctx: BenchContext,
  project: string,
  body: { file: string; contentType: string },
) {
  const server = await startRuntime({
    project: `${PROJECTS}${project}`,
    cpus: ctx.cpus.all,
  });
  try {
    await settle();
    return await measure(
      ctx,
      `http://127.0.0.1:${server.port}/cpu`,
      body,
      CONNECTIONS,
    );
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
  const one: LoadResult = await run(ctx, "cpu_1", body);
  ctx.log(
    `  cpu 1 replica: ${one.rps.toFixed(0)} req/s, p50 ${
      one.p50Ms.toFixed(1)
    } ms`,
  );
  const two: LoadResult = await run(ctx, "cpu_2", body);
  ctx.log(
    `  cpu 2 replicas: ${two.rps.toFixed(0)} req/s, p50 ${
      two.p50Ms.toFixed(1)
    } ms`,
  );
  return {
    burnMs: 5,
    connections: CONNECTIONS,
    one,
    two,
    speedup: two.rps / one.rps,
  };
}
