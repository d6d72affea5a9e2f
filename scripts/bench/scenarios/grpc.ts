/**
 * gRPC unary echo through the runtime (grpc-js on the main thread, the call
 * handled in a sandboxed replica) against a raw grpc-js server under Deno
 * with the same @bufbuild/protobuf codec. Load: h2load, one stream per
 * connection. Runs only when src/grpc/server.ts exists.
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

async function runAll(
  ctx: BenchContext,
  port: number,
  name: string,
): Promise<LoadResult[]> {
  const message = toBinary(
    EchoRequestSchema,
    create(EchoRequestSchema, { text: "hello from h2load" }),
  );
  const out: LoadResult[] = [];
  for (const connections of GRPC_CONNECTIONS) {
    const r = await runH2loadGrpc({
      url: `http://127.0.0.1:${port}${METHOD}`,
      message,
      connections,
      durationS: ctx.durationS,
      warmupS: ctx.warmupS,
      cpus: ctx.cpus.load,
      tmpDir: ctx.tmpDir,
    });
    ctx.log(
      `  ${name} grpc c=${connections}: ${r.rps.toFixed(0)} req/s, p50 ${
        r.p50Ms.toFixed(3)
      } ms, ` +
        `p99 ${r.p99Ms.toFixed(3)} ms${r.errors ? `, ${r.errors} errors` : ""}`,
    );
    out.push(r);
  }
  return out;
}

/** Runs the gRPC comparison, or says why it cannot. */
export async function grpcScenario(ctx: BenchContext): Promise<GrpcResults> {
  if (!existsSync(`${REPO}src/grpc/server.ts`)) {
    return {
      status: "not available",
      reason: "src/grpc/server.ts does not exist",
    };
  }
  let runtime: LoadResult[];
  let server: RunningServer | null = null;
  try {
    const rt = await startRuntime({
      project: `${PROJECTS}grpc_echo`,
      cpus: ctx.cpus.server,
    });
    server = rt;
    const error = await checkGrpc(rt.grpcPort);
    if (error !== null) {
      return {
        status: "failed",
        reason: `the runtime does not answer ${METHOD}: ${error}\n${
          rt.proc.output().slice(-1500)
        }`,
      };
    }
    await settle();
    runtime = await runAll(ctx, rt.grpcPort, "runtime");
  } catch (error) {
    return { status: "failed", reason: (error as Error).message };
  } finally {
    await server?.stop();
  }
  const raw = await startRawGrpc(ctx.cpus.server);
  let rawResults: LoadResult[];
  try {
    await settle();
    rawResults = await runAll(ctx, raw.port, "raw");
  } finally {
    await raw.stop();
  }
  const rows: ComparisonRow[] = GRPC_CONNECTIONS.map((connections, i) => ({
    workload: "grpc",
    connections,
    pinned: ctx.cpus.server !== null,
    runtime: runtime[i]!,
    raw: rawResults[i]!,
  }));
  return { status: "ok", rows };
}
