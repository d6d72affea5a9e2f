/**
 * Runs h2load as a gRPC load generator (length-prefixed request message,
 * `content-type: application/grpc`, `te: trailers`) and parses its summary
 * and per-request log into the same shape as wrk's results.
 *
 * @module
 */

import { collect } from "./proc.ts";
import { percentileOfSorted } from "./stats.ts";
import type { LoadResult } from "./wrk.ts";

/** Totals from h2load's summary. */
export interface H2loadSummary {
  rps: number;
  requests: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  non2xx: number;
}

/**
 * Parses h2load's summary lines (`finished in`, `requests:`, `status codes:`).
 *
 * @throws {SyntaxError} when they are missing
 */
export function parseH2loadSummary(text: string): H2loadSummary {
  const finished = /^finished in [\d.]+\w+, ([\d.]+) req\/s/m.exec(text);
  const requests =
    /^requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m
      .exec(text);
  const codes = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m
    .exec(text);
  if (!finished || !requests || !codes) {
    throw new SyntaxError(`Cannot parse h2load output: no summary:\n${text}`);
  }
  return {
    rps: Number(finished[1]),
    requests: Number(requests[1]),
    succeeded: Number(requests[2]),
    failed: Number(requests[3]),
    errored: Number(requests[4]),
    timeout: Number(requests[5]),
    non2xx: Number(codes[2]) + Number(codes[3]) + Number(codes[4]),
  };
}

/**
 * Reads request durations (ms, sorted) from an h2load `--log-file`: one
 * line per request, `start-µs<TAB>status<TAB>duration-µs`.
 */
export function parseH2loadLog(text: string): Float64Array {
  const out: number[] = [];
  for (const line of text.split("\n")) {
    const cols = line.split("\t");
    if (cols.length < 3) continue;
    const us = Number(cols[2]);
    if (Number.isFinite(us)) out.push(us / 1000);
  }
  return Float64Array.from(out).sort();
}

/** Options of {@linkcode runH2loadGrpc}. */
export interface H2loadOptions {
  /** Full URL of the method, e.g. `http://127.0.0.1:9000/pkg.Service/Method`. */
  url: string;
  /** The gRPC request message, without the 5-byte prefix. */
  message: Uint8Array;
  connections: number;
  durationS: number;
  warmupS: number;
  cpus: string | null;
  /** Directory for the data and log files. */
  tmpDir: string;
}

/** Prefixes `message` with the gRPC frame header (uncompressed, length). */
export function grpcFrame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.byteLength);
  new DataView(out.buffer).setUint32(1, message.byteLength);
  out.set(message, 5);
  return out;
}

/** Runs h2load with one stream per connection; resolves with the results. */
export async function runH2loadGrpc(opts: H2loadOptions): Promise<LoadResult> {
  const dataFile = `${opts.tmpDir}/grpc_request.bin`;
  const logFile = `${opts.tmpDir}/h2load_${opts.connections}.log`;
  await Deno.writeFile(dataFile, grpcFrame(opts.message));
  const args = [
    "h2load",
    "-t1",
    `-c${opts.connections}`,
    "-m1",
    `-D${opts.durationS}`,
    `--warm-up-time=${opts.warmupS}`,
    "-d",
    dataFile,
    "-H",
    "content-type: application/grpc",
    "-H",
    "te: trailers",
    `--log-file=${logFile}`,
    opts.url,
  ];
  const cmd = opts.cpus === null ? args : ["taskset", "-c", opts.cpus, ...args];
  const { code, stdout, stderr } = await collect(cmd);
  if (code !== 0) {
    throw new Error(`Cannot run h2load: exit code ${code}: ${stderr}`);
  }
  const summary = parseH2loadSummary(stdout);
  const latencies = parseH2loadLog(await Deno.readTextFile(logFile));
  return {
    requests: summary.requests,
    durationS: opts.durationS,
    rps: summary.rps,
    p50Ms: percentileOfSorted(latencies, 50),
    p99Ms: percentileOfSorted(latencies, 99),
    errors: summary.failed + summary.errored + summary.timeout + summary.non2xx,
  };
}
