/**
 * gRPC through the runtime (grpc-js in the gRPC process, the call handled in
 * a sandboxed replica process) against a raw grpc-js server under Deno with
 * the same @bufbuild/protobuf codec: unary echo at 1, 16 and 64 connections
 * (one stream per connection; h2load when installed, else grpc_load.mjs on
 * Node) and server streaming at 64 (bench.v1.Echo/Stream, 100 replies a
 * call; grpc_load.mjs, which counts messages: the rows' req/s are messages/s).
 *
 * Each run gets freshly started servers: closing connections after
 * concurrent calls can abort a grpc-js server under Deno
 * (denoland/deno#36788), which would spoil the next run.
 *
 * @module
 */

import { create, toBinary } from "@bufbuild/protobuf";
import { existsSync } from "node:fs";
import { runGrpcLoad } from "../grpc_load.ts";
import { runH2loadGrpc } from "../h2load.ts";
import { collect } from "../proc.ts";
import { EchoRequestSchema } from "../projects/grpc_echo/gen/echo_pb.ts";
import {
  checkGrpc,
  PROJECTS,
  REPO,
  type RunningServer,
  settle,
  startRawGrpc,
  startRuntime,
} from "../servers.ts";
import type {
  BenchContext,
  ComparisonRow,
  GrpcResults,
  LoadResult,
} from "../types.ts";

/** Connection counts of the unary runs. */
export const GRPC_CONNECTIONS = [1, 16, 64];
/** Connections of the server-streaming run. */
export const STREAM_CONNECTIONS = 64;
const SAY = "/bench.v1.Echo/Say";
const STREAM = "/bench.v1.Echo/Stream";

function describe(r: LoadResult, unit: string): string {
  return `${r.rps.toFixed(0)} ${unit}/s, p50 ${r.p50Ms.toFixed(3)} ms, p99 ${
    r.p99Ms.toFixed(3)
  } ms` +
    (r.errors ? `, ${r.errors} errors` : "");
}

async function hasH2load(): Promise<boolean> {
  try {
    return (await collect(["h2load", "--version"])).code === 0;
  } catch {
    return false;
  }
}

type Load = (port: number) => Promise<LoadResult>;

/** One comparison on fresh servers: the runtime, then raw grpc-js. */
async function compare(ctx: BenchContext, load: Load) {
  const servers: RunningServer[] = [];
  try {
    const runtime = await startRuntime({
      project: `${PROJECTS}grpc_echo`,
      cpus: ctx.cpus.server,
    });
    servers.push(runtime);
    const error = await checkGrpc(runtime.grpcPort);
    if (error !== null) {
      throw new Error(
        `the runtime does not answer ${SAY}: ${error}\n${
          runtime.proc.output().slice(-1500)
        }`,
      );
    }
    await settle();
    const a = await load(runtime.grpcPort);
    await runtime.stop();
    servers.length = 0;
    const raw = await startRawGrpc(ctx.cpus.server);
    servers.push(raw);
    await settle();
    const b = await load(raw.port);
    return { runtime: a, raw: b };
  } finally {
    for (const server of servers) await server.stop();
  }
}

/** Runs the gRPC comparison, or says why it cannot. */
export async function grpcScenario(ctx: BenchContext): Promise<GrpcResults> {
  if (!existsSync(`${REPO}src/grpc/frontend/grpc_server.ts`)) {
    return {
      status: "not available",
      reason: "src/grpc/frontend/grpc_server.ts does not exist",
    };
  }
  const message = toBinary(
    EchoRequestSchema,
    create(EchoRequestSchema, { text: "hello from the load generator" }),
  );
  const common = {
    message,
    durationS: ctx.durationS,
    warmupS: ctx.warmupS,
    cpus: ctx.cpus.load,
  };
  const h2load = await hasH2load();
  ctx.log(`  unary load: ${h2load ? "h2load" : "grpc_load.mjs (Node)"}`);
  const unary = (connections: number): Load => (port) =>
    h2load
      ? runH2loadGrpc({
        ...common,
        url: `http://127.0.0.1:${port}${SAY}`,
        connections,
        tmpDir: ctx.tmpDir,
      })
      : runGrpcLoad({ ...common, port, path: SAY, connections });
  const stream: Load = async (port) => {
    const r = await runGrpcLoad({
      ...common,
      port,
      path: STREAM,
      connections: STREAM_CONNECTIONS,
    });
    return { ...r, rps: r.mps };
  };
  try {
    const rows: ComparisonRow[] = [];
    const runs = [
      ...GRPC_CONNECTIONS.map((c) => ["grpc", c, unary(c)] as const),
      ["grpc-stream", STREAM_CONNECTIONS, stream] as const,
    ];
    for (const [workload, connections, load] of runs) {
      const { runtime, raw } = await compare(ctx, load);
      const unit = workload === "grpc" ? "calls" : "messages";
      ctx.log(
        `  runtime ${workload} c=${connections}: ${describe(runtime, unit)}`,
      );
      ctx.log(
        `  raw     ${workload} c=${connections}: ${describe(raw, unit)} (${
          (runtime.rps / raw.rps).toFixed(2)
        }x)`,
      );
      rows.push({
        workload,
        connections,
        pinned: ctx.cpus.server !== null,
        runtime,
        raw,
      });
    }
    return { status: "ok", rows };
  } catch (error) {
    return { status: "failed", reason: (error as Error).message };
  }
}
