/**
 * Latency against offered load (issue 17): the JSON echo through the
 * runtime (`deno task serve`, 1 replica, access log on) and through raw
 * `Deno.serve`, each at fixed request rates from 10% to 100% of raw
 * `Deno.serve`'s closed-loop maximum, from the open-loop generator
 * (openloop.ts): p50/p99/max measured from each request's intended send
 * time, achieved rate, errors, and the CPU the generator and the server used.
 *
 * @module
 */

import { JSON_BODY } from "../bodies.ts";
import {
  buildGenerator,
  evenSchedule,
  requestBytes,
  runGenerator,
  summarize,
} from "../openloop.ts";
import { cpuSeconds, descendants } from "../proc.ts";
import {
  PROJECTS,
  type RunningServer,
  settle,
  startRawHttp,
  startRuntime,
} from "../servers.ts";
import type {
  BenchContext,
  LatencyMax,
  LatencyPoint,
  LatencyResults,
} from "../types.ts";
import { verify } from "./measure.ts";

/** How the scenario runs; the defaults keep it under about a minute. */
export interface LatencyOptions {
  /** Offered rates as shares of raw `Deno.serve`'s closed-loop maximum. */
  fractions: number[];
  /** Measured seconds per rate. */
  runS: number;
  /** Seconds at the same rate before the measured window (not counted). */
  warmupS: number;
  /** Longest wait for answers after the last intended send. */
  drainS: number;
  connections: number;
}

/** The defaults: 10%..100% in steps of 10, 1.5 s each after 0.5 s, 64 connections. */
export const LATENCY_DEFAULTS: LatencyOptions = {
  fractions: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
  runS: 1.5,
  warmupS: 0.5,
  drainS: 0.5,
  connections: 64,
};

/** A server under test with what the generator needs to reach it. */
interface Target {
  name: string;
  server: RunningServer;
  requestFile: string;
  /** The processes whose CPU counts as the server's. */
  pids: number[];
}

async function cpuOf(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += await cpuSeconds(pid);
  return total;
}

function describe(p: LatencyPoint): string {
  return `offered ${p.offeredRps.toFixed(0)}, achieved ${
    p.achievedRps.toFixed(0)
  } req/s, p50 ${p.p50Ms.toFixed(3)} ms, p99 ${p.p99Ms.toFixed(3)} ms, max ${
    p.maxMs.toFixed(1)
  } ms` + (p.errors ? `, ${p.errors} errors` : "") +
    (p.unfinished ? `, ${p.unfinished} unfinished` : "") +
    `, generator lag p99 ${(p.generatorLagP99Ms * 1000).toFixed(0)} us` +
    `, generator ${(p.generatorCpu * 100).toFixed(0)}% / server ${
      (p.serverCpu * 100).toFixed(0)
    }% of a core`;
}

/** Runs the latency scenario. */
export async function latencyScenario(
  ctx: BenchContext,
  opts: LatencyOptions = LATENCY_DEFAULTS,
): Promise<LatencyResults> {
  const binary = await buildGenerator(ctx.tmpDir);
  const body = new TextEncoder().encode(JSON.stringify(JSON_BODY));
  const bodyFile = `${ctx.tmpDir}/latency-body.json`;
  await Deno.writeFile(bodyFile, body);
  const servers: RunningServer[] = [];
  ctx.log(
    `Latency: server ${
      ctx.cpus.server === null ? "unpinned" : `pinned to CPU ${ctx.cpus.server}`
    }, open-loop generator ${
      ctx.cpus.load === null ? "unpinned" : `on CPU ${ctx.cpus.load}`
    }, ${opts.connections} connections`,
  );
  try {
    const runtime = await startRuntime({
      project: `${PROJECTS}echo`,
      cpus: ctx.cpus.server,
      args: ["--api", "echo"],
    });
    servers.push(runtime);
    const raw = await startRawHttp(ctx.cpus.server);
    servers.push(raw);
    await settle();
    const targets: Target[] = [];
    for (
      const [name, server] of [["runtime", runtime], ["raw", raw]] as const
    ) {
      const url = `http://127.0.0.1:${server.port}/echo`;
      await verify(
        url,
        { file: bodyFile, contentType: "application/json" },
        JSON_BODY,
      );
      const requestFile = `${ctx.tmpDir}/latency-${name}.http`;
      await Deno.writeFile(
        requestFile,
        requestBytes({
          host: "127.0.0.1",
          port: server.port,
          path: "/echo",
          contentType: "application/json",
          body,
        }),
      );
      const serving = await server.servingPid();
      targets.push({
        name,
        server,
        requestFile,
        pids: [serving, ...await descendants(serving)],
      });
    }
    const [runtimeTarget, rawTarget] = targets as [Target, Target];
    const common = {
      binary,
      connections: opts.connections,
      drainS: opts.drainS,
      tmpDir: ctx.tmpDir,
      cpus: ctx.cpus.load,
    };
    const window = (wallS: number) => ({
      startNs: opts.warmupS * 1e9,
      endNs: (opts.warmupS + opts.runS) * 1e9,
      stopNs: wallS * 1e9,
    });

    const closedLoop = async (t: Target): Promise<LatencyMax> => {
      const cpuBefore = await cpuOf(t.pids);
      const { stats, records } = await runGenerator({
        ...common,
        port: t.server.port,
        requestFile: t.requestFile,
        schedule: null,
        runS: opts.warmupS + opts.runS,
      });
      const serverCpu = (await cpuOf(t.pids) - cpuBefore) / stats.wallS;
      const s = summarize(records.sent, records, window(stats.wallS));
      const max = {
        rps: s.achievedRps,
        p50Ms: s.p50Ms,
        p99Ms: s.p99Ms,
        generatorCpu: Math.max(0, stats.cpuS - stats.spinS) / stats.wallS,
        serverCpu,
      };
      ctx.log(
        `  ${t.name.padEnd(7)} closed loop: ${max.rps.toFixed(0)} req/s, p50 ${
          max.p50Ms.toFixed(3)
        } ms, p99 ${max.p99Ms.toFixed(3)} ms`,
      );
      // A closed loop leaves the server saturated: let it finish before the next run.
      await settle(300);
      return max;
    };

    const openLoop = async (
      t: Target,
      fraction: number,
      rate: number,
    ): Promise<LatencyPoint> => {
      const schedule = evenSchedule(rate, opts.warmupS + opts.runS);
      const cpuBefore = await cpuOf(t.pids);
      const { stats, records } = await runGenerator({
        ...common,
        port: t.server.port,
        requestFile: t.requestFile,
        schedule,
        runS: opts.warmupS + opts.runS,
      });
      const serverCpu = (await cpuOf(t.pids) - cpuBefore) / stats.wallS;
      const point: LatencyPoint = {
        fraction,
        ...summarize(schedule, records, window(stats.wallS)),
        generatorCpu: Math.max(0, stats.cpuS - stats.spinS) / stats.wallS,
        serverCpu,
      };
      ctx.log(
        `  ${t.name.padEnd(7)} ${(fraction * 100).toFixed(0).padStart(3)}%: ${
          describe(point)
        }`,
      );
      await settle(100);
      return point;
    };

    const rawMax = await closedLoop(rawTarget);
    const runtimeMax = await closedLoop(runtimeTarget);
    const results: LatencyResults = {
      connections: opts.connections,
      runS: opts.runS,
      warmupS: opts.warmupS,
      pinned: ctx.cpus.server !== null,
      rawMax,
      runtimeMax,
      runtime: [],
      raw: [],
    };
    // Runtime then raw at each rate, so a change in background load hits both.
    for (const fraction of opts.fractions) {
      const rate = fraction * rawMax.rps;
      results.runtime.push(await openLoop(runtimeTarget, fraction, rate));
      results.raw.push(await openLoop(rawTarget, fraction, rate));
    }
    return results;
  } finally {
    for (const server of servers) await server.stop();
  }
}
