/**
 * gRPC unary echo through the runtime (grpc-js on the main thread, the call
 * handled in a sandboxed replica) against a raw grpc-js server under Deno
 * with the same @bufbuild/protobuf codec. Load: h2load, one stream per
 * connection. Runs only when src/grpc/frontend/grpc_server.ts exists.
 *
 * @module
 */

import { create, toBinary } from "@bufbuild/protobuf";
import { existsSync } from "node:fs";
import { runH2loadGrpc } from "../h2load.ts";
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

/** Connection counts of the gRPC runs. */
export const GRPC_CONNECTIONS = [1, 16, 64];
const METHOD = "/bench.v1.Echo/Say";

function describe(r: LoadResult): string {
  return `${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(3)} ms, p99 ${
    r.p99Ms.toFixed(3)
  } ms` +
    (r.errors ? `, ${r.errors} errors` : "");
}

function load(
  ctx: BenchContext,
  port: number,
  connections: number,
): Promise<LoadResult> {
  const message = toBinary(
    EchoRequestSchema,
    create(EchoRequestSchema, { text: "hello from h2load" }),
  );
  return runH2loadGrpc({
    url: `http://127.0.0.1:${port}${METHOD}`,
    message,
    connections,
    durationS: ctx.durationS,
    warmupS: ctx.warmupS,
    cpus: ctx.cpus.load,
    tmpDir: ctx.tmpDir,
  });
}

/** Runs the gRPC comparison, or says why it cannot. */
export async function grpcScenario(ctx: BenchContext): Promise<GrpcResults> {
  if (!existsSync(`${REPO}src/grpc/frontend/grpc_server.ts`)) {
    return {
      status: "not available",
      reason: "src/grpc/frontend/grpc_server.ts does not exist",
    };
  }
  const servers: RunningServer[] = [];
  try {
    const runtime = await startRuntime({
      project: `${PROJECTS}grpc_echo`,
      cpus: ctx.cpus.server,
    });
    servers.push(runtime);
    const error = await checkGrpc(runtime.grpcPort);
    if (error !== null) {
      return {
        status: "failed",
        reason: `the runtime does not answer ${METHOD}: ${error}\n${
          runtime.proc.output().slice(-1500)
        }`,
      };
    }
    const raw = await startRawGrpc(ctx.cpus.server);
    servers.push(raw);
    await settle();
    const rows: ComparisonRow[] = [];
    for (const connections of GRPC_CONNECTIONS) {
      const a = await load(ctx, runtime.grpcPort, connections);
      ctx.log(`  runtime grpc c=${connections}: ${describe(a)}`);
      const b = await load(ctx, raw.port, connections);
      ctx.log(
        `  raw     grpc c=${connections}: ${describe(b)} (${
          (a.rps / b.rps).toFixed(2)
        }x)`,
      );
      rows.push({
        workload: "grpc",
        connections,
        pinned: ctx.cpus.server !== null,
        runtime: a,
        raw: b,
      });
    }
    return { status: "ok", rows };
  } catch (error) {
    return { status: "failed", reason: (error as Error).message };
  } finally {
    for (const server of servers) await server.stop();
  }
}
