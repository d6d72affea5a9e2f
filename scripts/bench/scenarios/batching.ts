/**
 * Server-side batching (issue 15): one replica of a model-like handler that
 * costs 5 ms per call plus 0.5 ms per item, unbatched against fixed and
 * adaptive batching, at 64 connections (throughput, p99 against
 * `max_latency`) and at 1 connection (what adaptive batching adds to p50).
 *
 * @module
 */

import { PROJECTS, settle, startRuntime } from "../servers.ts";
import type { BatchingResults, BenchContext, LoadResult } from "../types.ts";
import { measure } from "./measure.ts";

/** `max_latency` of the adaptive API in the bench project. */
export const ADAPTIVE_MAX_LATENCY_MS = 100;

async function run(
  ctx: BenchContext,
  api: string,
  body: { file: string; contentType: string },
  connections: number,
): Promise<LoadResult> {
  const server = await startRuntime({
    project: `${PROJECTS}batching`,
    cpus: ctx.cpus.all,
    args: ["--api", api, "--no-access-log"],
  });
  try {
    await settle();
    return await measure(
      ctx,
      `http://127.0.0.1:${server.port}/${api}`,
      body,
      connections,
    );
  } finally {
    await server.stop();
  }
}

/** Runs the batching comparison. */
export async function batchingScenario(
  ctx: BenchContext,
): Promise<BatchingResults> {
  const body = {
    file: `${ctx.tmpDir}/batching.json`,
    contentType: "application/json",
  };
  await Deno.writeTextFile(body.file, '{"x":[1,2,3,4]}');
  const at64 = {
    plain: await run(ctx, "plain", body, 64),
    fixed: await run(ctx, "fixed", body, 64),
    adaptive: await run(ctx, "adaptive", body, 64),
  };
  const at1 = {
    plain: await run(ctx, "plain", body, 1),
    adaptive: await run(ctx, "adaptive", body, 1),
  };
  for (const [conns, runs] of [[64, at64], [1, at1]] as const) {
    for (const [api, r] of Object.entries(runs)) {
      ctx.log(
        `  batching ${api} c=${conns}: ${r.rps.toFixed(0)} req/s, p50 ${
          r.p50Ms.toFixed(1)
        } ms, p99 ${r.p99Ms.toFixed(1)} ms, errors ${r.errors}`,
      );
    }
  }
  return {
    maxLatencyMs: ADAPTIVE_MAX_LATENCY_MS,
    at64,
    at1,
    fixedSpeedup: at64.fixed.rps / at64.plain.rps,
    adaptiveSpeedup: at64.adaptive.rps / at64.plain.rps,
    adaptiveP50AddedMs: at1.adaptive.p50Ms - at1.plain.p50Ms,
  };
}
