/**
 * Runs `grpc_load.mjs` (a closed-loop gRPC load generator on Node's
 * `node:http2`) and returns its result in the shape of wrk's, plus the
 * response messages it counted (server streaming: messages/s). Used where
 * h2load is absent and wherever messages per call matter.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { LoadResult } from "./wrk.ts";

const SCRIPT = fileURLToPath(new URL("./grpc_load.mjs", import.meta.url));

/** Options of {@linkcode runGrpcLoad}. */
export interface GrpcLoadOptions {
  port: number;
  /** `/<package>.<Service>/<Method>`. */
  path: string;
  /** The request message, without the 5-byte prefix. */
  message: Uint8Array;
  connections: number;
  durationS: number;
  warmupS: number;
  /** CPU list for taskset, or null. */
  cpus: string | null;
  /** Called as the measured run starts (after the warm-up) and ends. */
  onPhase?(phase: "measure" | "measured"): Promise<void>;
}

/** A run's result: calls as `requests`, and the messages they returned. */
export interface GrpcLoadResult extends LoadResult {
  /** Response messages received during the measured run. */
  messages: number;
  /** Messages per second. */
  mps: number;
}

/** The JSON line grpc_load.mjs prints. */
export interface GrpcLoadOutput {
  calls: number;
  messages: number;
  errors: number;
  durationS: number;
  latenciesMs: [number, number];
}

/**
 * Parses grpc_load.mjs's result line (the last line of its output).
 *
 * @throws {SyntaxError} when it is not the expected JSON
 */
export function parseGrpcLoadOutput(text: string): GrpcLoadResult {
  const line = text.trim().split("\n").at(-1) ?? "";
  let out: GrpcLoadOutput;
  try {
    out = JSON.parse(line);
  } catch {
    throw new SyntaxError(`Cannot parse grpc_load output: ${text.trim()}`);
  }
  if (
    typeof out?.calls !== "number" || typeof out.messages !== "number" ||
    !(out.durationS > 0) || !Array.isArray(out.latenciesMs)
  ) {
    throw new SyntaxError(`Cannot parse grpc_load output: ${line}`);
  }
  return {
    requests: out.calls,
    messages: out.messages,
    durationS: out.durationS,
    rps: out.calls / out.durationS,
    mps: out.messages / out.durationS,
    p50Ms: out.latenciesMs[0],
    p99Ms: out.latenciesMs[1],
    errors: out.errors,
  };
}

/** Runs one measured load (after its warm-up) with Node. */
export async function runGrpcLoad(
  opts: GrpcLoadOptions,
): Promise<GrpcLoadResult> {
  const args = [
    "node",
    SCRIPT,
    "--port",
    String(opts.port),
    "--path",
    opts.path,
    "--message",
    Array.from(opts.message, (b) => b.toString(16).padStart(2, "0")).join(""),
    "--connections",
    String(opts.connections),
    "--duration",
    String(opts.durationS),
    "--warmup",
    String(opts.warmupS),
  ];
  const cmd = opts.cpus === null ? args : ["taskset", "-c", opts.cpus, ...args];
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    let at;
    while ((at = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      stdout += line + "\n";
      if (line.includes('"phase":"measure"')) await opts.onPhase?.("measure");
      else if (line.startsWith('{"calls"')) await opts.onPhase?.("measured");
    }
  }
  const { code } = await child.status;
  if (code !== 0) {
    throw new Error(
      `Cannot run grpc_load.mjs: exit code ${code}: ${await stderr}`,
    );
  }
  return parseGrpcLoadOutput(stdout + pending);
}
