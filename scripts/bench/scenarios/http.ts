/**
 * HTTP through the full runtime (sandboxed replica, parsing, encoding,
 * access log on, stdout drained through a pipe) against a raw `Deno.serve`
 * doing the same echo: JSON, a 1 MiB binary upload and a multipart upload at
 * 1, 16 and 64 connections, plus JSON at 64 with the server unpinned.
 *
 * @module
 */

import {
  BINARY_BYTES,
  JSON_BODY,
  MULTIPART_FILE_BYTES,
  type Workload,
  writeWorkloads,
} from "../bodies.ts";
import {
  PROJECTS,
  type RunningServer,
  settle,
  startRawHttp,
  startRuntime,
} from "../servers.ts";
import type {
  BenchContext,
  ComparisonRow,
  HttpResults,
  LoadResult,
} from "../types.ts";
import { measure, sent, verify } from "./measure.ts";

/** Connection counts of every HTTP workload. */
export const HTTP_CONNECTIONS = [1, 16, 64];

const EXPECTED: Record<Workload["name"], unknown> = {
  json: JSON_BODY,
  binary: { bytes: BINARY_BYTES },
  multipart: { fields: 2, bytes: "bench upload".length + MULTIPART_FILE_BYTES },
};

function describe(r: LoadResult): string {
  return `${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(3)} ms, p99 ${
    r.p99Ms.toFixed(3)
  } ms` +
    (r.errors ? `, ${r.errors} errors` : "");
}

/**
 * Runs every job against both servers, runtime then raw back to back, so
 * that a change in background load hits both sides of a ratio alike.
 */
async function compare(
  ctx: BenchContext,
  jobs: Array<{ workload: Workload; connections: number }>,
  cpus: string | null,
  pinned: boolean,
  counts: { lines: number; requests: number },
): Promise<ComparisonRow[]> {
  const servers: RunningServer[] = [];
  try {
    const runtime = await startRuntime({
      project: `${PROJECTS}echo`,
      cpus,
      args: ["--api", "echo"],
    });
    servers.push(runtime);
    const raw = await startRawHttp(cpus);
    servers.push(raw);
    await settle();
    const urls = [runtime, raw].map((s) => `http://127.0.0.1:${s.port}/echo`);
    for (const w of new Set(jobs.map((j) => j.workload))) {
      for (const url of urls) await verify(url, w, EXPECTED[w.name]);
    }
    const rows: ComparisonRow[] = [];
    for (const { workload, connections } of jobs) {
      const label = `${workload.name} c=${connections}${
        pinned ? "" : " unpinned"
      }`;
      const sentBefore = sent.requests;
      const linesBefore = runtime.proc.stdout.lines;
      const a = await measure(ctx, urls[0]!, workload, connections);
      counts.requests += sent.requests - sentBefore;
      counts.lines += runtime.proc.stdout.lines - linesBefore;
      ctx.log(`  runtime ${label}: ${describe(a)}`);
      const b = await measure(ctx, urls[1]!, workload, connections);
      ctx.log(
        `  raw     ${label}: ${describe(b)} (${(a.rps / b.rps).toFixed(2)}x)`,
      );
      rows.push({
        workload: workload.name,
        connections,
        pinned,
        runtime: a,
        raw: b,
      });
    }
    return rows;
  } finally {
    for (const server of servers) await server.stop();
  }
}

/** Runs the HTTP comparison. */
export async function httpScenario(ctx: BenchContext): Promise<HttpResults> {
  const workloads = await writeWorkloads(ctx.tmpDir);
  const all = workloads.flatMap((workload) =>
    HTTP_CONNECTIONS.map((connections) => ({ workload, connections }))
  );
  const canPin = ctx.cpus.server !== null;
  const counts = { lines: 0, requests: 0 };
  ctx.log(
    `HTTP: server ${canPin ? `pinned to CPU ${ctx.cpus.server}` : "unpinned"}`,
  );
  const rows = await compare(ctx, all, ctx.cpus.server, canPin, counts);
  if (canPin) {
    ctx.log(`HTTP: server unpinned (CPUs ${ctx.cpus.all})`);
    rows.push(
      ...await compare(
        ctx,
        [{ workload: workloads[0]!, connections: 64 }],
        ctx.cpus.all,
        false,
        counts,
      ),
    );
  }
  return {
    rows,
    runtimeLogLines: counts.lines,
    runtimeRequests: counts.requests,
  };
}
