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

type Runs = Map<string, LoadResult>;
const key = (w: string, c: number, pinned: boolean) => `${w}/${c}/${pinned}`;

async function runAll(
  ctx: BenchContext,
  server: RunningServer,
  path: string,
  jobs: Array<{ workload: Workload; connections: number }>,
  pinned: boolean,
  into: Runs,
  name: string,
): Promise<void> {
  const url = `http://127.0.0.1:${server.port}${path}`;
  for (const w of new Set(jobs.map((j) => j.workload))) {
    await verify(url, w, EXPECTED[w.name]);
  }
  for (const { workload, connections } of jobs) {
    const r = await measure(ctx, url, workload, connections);
    ctx.log(
      `  ${name} ${workload.name} c=${connections}${
        pinned ? "" : " unpinned"
      }: ` +
        `${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(3)} ms, p99 ${
          r.p99Ms.toFixed(3)
        } ms` +
        (r.errors ? `, ${r.errors} errors` : ""),
    );
    into.set(key(workload.name, connections, pinned), r);
  }
}

/** Runs the HTTP comparison. */
export async function httpScenario(ctx: BenchContext): Promise<HttpResults> {
  const workloads = await writeWorkloads(ctx.tmpDir);
  const all = workloads.flatMap((workload) =>
    HTTP_CONNECTIONS.map((connections) => ({ workload, connections }))
  );
  const json64 = [{ workload: workloads[0]!, connections: 64 }];
  const runtime: Runs = new Map();
  const raw: Runs = new Map();
  const canPin = ctx.cpus.server !== null;
  let runtimeLogLines = 0;
  let runtimeRequests = 0;

  const withRuntime = async (
    cpus: string | null,
    jobs: typeof all,
    pinned: boolean,
  ) => {
    const server = await startRuntime({ project: `${PROJECTS}echo`, cpus });
    try {
      await settle();
      const before = sent.requests;
      const linesBefore = server.proc.stdout.lines;
      await runAll(ctx, server, "/echo", jobs, pinned, runtime, "runtime");
      runtimeRequests += sent.requests - before;
      runtimeLogLines += server.proc.stdout.lines - linesBefore;
    } finally {
      await server.stop();
    }
  };
  const withRaw = async (
    cpus: string | null,
    jobs: typeof all,
    pinned: boolean,
  ) => {
    const server = await startRawHttp(cpus);
    try {
      await settle();
      await runAll(ctx, server, "/echo", jobs, pinned, raw, "raw");
    } finally {
      await server.stop();
    }
  };

  ctx.log(
    `HTTP: server ${canPin ? `pinned to CPU ${ctx.cpus.server}` : "unpinned"}`,
  );
  await withRuntime(ctx.cpus.server, all, canPin);
  await withRaw(ctx.cpus.server, all, canPin);
  if (canPin) {
    ctx.log(`HTTP: server unpinned (CPUs ${ctx.cpus.all})`);
    await withRuntime(ctx.cpus.all, json64, false);
    await withRaw(ctx.cpus.all, json64, false);
  }

  const rows: ComparisonRow[] = [];
  for (const pinned of canPin ? [true, false] : [false]) {
    for (const w of workloads) {
      for (const connections of HTTP_CONNECTIONS) {
        const k = key(w.name, connections, pinned);
        const a = runtime.get(k);
        const b = raw.get(k);
        if (a && b) {
          rows.push({
            workload: w.name,
            connections,
            pinned,
            runtime: a,
            raw: b,
          });
        }
      }
    }
  }
  return { rows, runtimeLogLines, runtimeRequests };
}
