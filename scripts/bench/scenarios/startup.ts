/**
 * Start-up: from spawning `deno task serve examples/hello --port N` to the
 * first 200 answer of POST /hello, median of several runs.
 *
 * Every run is the same command (same ports), as a restart is: the
 * supervisor then starts the serving process ahead from the last start's
 * record (src/supervisor/speculative_start.ts). A first run after a change
 * of the runtime or on a new port has no record and is slower.
 *
 * @module
 */

import { RuntimeServer } from "../servers.ts";
import { freePort, waitFor200 } from "../proc.ts";
import { median } from "../stats.ts";
import type { BenchContext, StartupResults } from "../types.ts";

/** Runs of the start-up measurement. */
export const STARTUP_RUNS = 5;

/** Measures start to first response of examples/hello. */
export async function startupScenario(
  ctx: BenchContext,
): Promise<StartupResults> {
  const samplesMs: number[] = [];
  const port = freePort();
  const grpcPort = freePort();
  for (let i = 0; i < STARTUP_RUNS; i++) {
    const server = new RuntimeServer({
      project: "examples/hello",
      cpus: ctx.cpus.all,
      port,
      grpcPort,
    });
    try {
      await waitFor200(`http://127.0.0.1:${server.port}/hello`, {
        init: {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: '{"name":"bench"}',
        },
        intervalMs: 2,
        timeoutMs: 30_000,
        alive: () => !server.proc.exited,
      });
      const ms = performance.now() - server.proc.startedAt;
      samplesMs.push(ms);
      ctx.log(`  start-up run ${i + 1}: ${ms.toFixed(0)} ms`);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${server.proc.output()}`);
    } finally {
      await server.stop();
    }
  }
  return { project: "examples/hello", samplesMs, medianMs: median(samplesMs) };
}
