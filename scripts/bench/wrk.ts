/**
 * Runs wrk and parses what it prints: requests per second, latency
 * percentiles and errors.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { collect } from "./proc.ts";

/** One load run's results. Latencies are in milliseconds. */
export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses that were not 2xx/3xx, and socket errors and timeouts. */
  errors: number;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a wrk duration such as `552.00us`, `1.23ms` or `2.01s` into ms. */
export function parseWrkTime(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new SyntaxError(`Cannot parse wrk time "${text}"`);
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : n * UNIT_MS[m[2]!]!;
}

/**
 * Parses wrk's output (run with `--latency`). When the output holds the
 * `BENCH_JSON` line of lua/post_file.lua, its exact percentiles win over the
 * rounded text ones.
 *
 * @throws {SyntaxError} when the output has no `Requests/sec` line
 */
export function parseWrkOutput(text: string): LoadResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const total = /^\s*(\d+) requests in ([\d.]+\w+),/m.exec(text);
  if (!rps || !total) {
    throw new SyntaxError(
      `Cannot parse wrk output: no "Requests/sec" line:\n${text}`,
    );
  }
  const dist = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+\\w+)\\s*$`, "m").exec(text);
    return m ? parseWrkTime(m[1]!) : NaN;
  };
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const socket =
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
      .exec(text);
  let errors = Number(non2xx?.[1] ?? 0);
  if (socket) errors += socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const result: LoadResult = {
    requests: Number(total[1]),
    durationS: parseWrkTime(total[2]!) / 1000,
    rps: Number(rps[1]),
    p50Ms: dist("50"),
    p99Ms: dist("99"),
    errors,
  };
  const json = /^BENCH_JSON (\{.*\})\s*$/m.exec(text);
  if (json) {
    const j = JSON.parse(json[1]!) as Record<string, number>;
    result.p50Ms = j.p50Us! / 1000;
    result.p99Ms = j.p99Us! / 1000;
    result.errors = j.non2xx! + j.connectErrors! + j.readErrors! +
      j.writeErrors! +
      j.timeouts!;
  }
  return result;
}

/** Options of {@linkcode runWrk}. */
export interface WrkOptions {
  url: string;
  connections: number;
  durationS: number;
  /** File whose bytes are POSTed, and their Content-Type. */
  body: { file: string; contentType: string };
  /** CPUs for wrk (`taskset -c`), or null to leave it unpinned. */
  cpus: string | null;
}

const POST_LUA = fileURLToPath(new URL("./lua/post_file.lua", import.meta.url));

/** Runs wrk once; resolves with the parsed results. */
export async function runWrk(opts: WrkOptions): Promise<LoadResult> {
  const wrkArgs = [
    "-t1",
    `-c${opts.connections}`,
    `-d${opts.durationS}s`,
    "--timeout",
    "10s",
    "--latency",
    "-s",
    POST_LUA,
    opts.url,
    "--",
    opts.body.file,
    opts.body.contentType,
  ];
  const cmd = opts.cpus === null
    ? ["wrk", ...wrkArgs]
    : ["taskset", "-c", opts.cpus, "wrk", ...wrkArgs];
  const { code, stdout, stderr } = await collect(cmd);
  if (code !== 0) {
    throw new Error(`Cannot run wrk: exit code ${code}: ${stderr}`);
  }
  return parseWrkOutput(stdout);
}
