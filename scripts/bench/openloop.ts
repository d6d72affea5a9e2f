/**
 * The open-loop load generator of the `latency` scenario: a fixed request
 * rate whose latencies are measured from each request's intended send time,
 * so that a slow server cannot hide its queueing by slowing the client down
 * (coordinated omission, which closed-loop tools such as wrk suffer from).
 *
 * The schedule and the accounting are here, as pure functions; the sockets
 * are in openloop.c (built with `cc` on first use), which sends pre-built
 * request bytes over kept-alive HTTP/1.1 connections at the scheduled times
 * and writes when each request went out and when its answer was in.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { percentileOfSorted } from "./stats.ts";
import { collect } from "./proc.ts";

const SOURCE = fileURLToPath(new URL("./openloop.c", import.meta.url));

/**
 * Intended send times (ns from the start) of `rate` requests per second,
 * evenly spaced, for `seconds`.
 *
 * @throws {RangeError} when the rate is not positive or nothing fits
 */
export function evenSchedule(rate: number, seconds: number): Float64Array {
  if (!(rate > 0) || !(seconds > 0)) {
    throw new RangeError(
      `Cannot schedule ${rate} req/s for ${seconds} s: both must be positive`,
    );
  }
  const count = Math.floor(rate * seconds);
  const spacing = 1e9 / rate;
  const out = new Float64Array(count);
  for (let k = 0; k < count; k++) out[k] = k * spacing;
  return out;
}

/** What one request to POST. */
export interface RequestSpec {
  host: string;
  port: number;
  path: string;
  contentType: string;
  body: Uint8Array;
}

/** The bytes of a kept-alive HTTP/1.1 POST, built once and sent as they are. */
export function requestBytes(spec: RequestSpec): Uint8Array {
  const head = `POST ${spec.path} HTTP/1.1\r\n` +
    `Host: ${spec.host}:${spec.port}\r\n` +
    `Content-Type: ${spec.contentType}\r\n` +
    `Content-Length: ${spec.body.byteLength}\r\n\r\n`;
  const headBytes = new TextEncoder().encode(head);
  const out = new Uint8Array(headBytes.byteLength + spec.body.byteLength);
  out.set(headBytes);
  out.set(spec.body, headBytes.byteLength);
  return out;
}

/**
 * Per request, as openloop.c writes them: when it was sent and answered (ns
 * from the start; -1 for never), the status (0: the connection failed) and
 * when the connection it went out on had become free.
 */
export interface Records {
  sent: Float64Array;
  done: Float64Array;
  status: Float64Array;
  freeAt: Float64Array;
}

const FIELDS = 4;

/** Splits openloop.c's output (four float64 per request). */
export function parseRecords(bytes: Uint8Array): Records {
  if (bytes.byteLength % (FIELDS * 8) !== 0) {
    throw new SyntaxError(
      `Cannot read openloop records: ${bytes.byteLength} bytes is not a multiple of ${
        FIELDS * 8
      }`,
    );
  }
  const all = new Float64Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  const n = all.length / FIELDS;
  const records = {
    sent: new Float64Array(n),
    done: new Float64Array(n),
    status: new Float64Array(n),
    freeAt: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    records.sent[i] = all[i * FIELDS]!;
    records.done[i] = all[i * FIELDS + 1]!;
    records.status[i] = all[i * FIELDS + 2]!;
    records.freeAt[i] = all[i * FIELDS + 3]!;
  }
  return records;
}

/** The measured window of a run and when the generator stopped. */
export interface Window {
  /** Intended times from here (ns) count: the time before is warm-up. */
  startNs: number;
  /** ... up to here (exclusive). */
  endNs: number;
  /** When the run stopped: unanswered requests had waited until then. */
  stopNs: number;
}

/** One run's latency and throughput. Latencies are in milliseconds. */
export interface RunSummary {
  /** Requests intended in the window (sent or not). */
  requests: number;
  /** Requests per second intended in the window. */
  offeredRps: number;
  /** Good answers (2xx/3xx) that arrived in the window, per second. */
  achievedRps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers that were not 2xx/3xx, and failed connections. */
  errors: number;
  /**
   * Requests of the window still unanswered (or never sent) when the run
   * stopped. They count in the percentiles with the time they had waited, so
   * with any of them the percentiles are lower bounds.
   */
  unfinished: number;
  /**
   * The generator's own lateness: from when a request could go out (its
   * intended time, or when a connection became free if none was) to when it
   * went out. Small when the generator keeps up with its schedule.
   */
  generatorLagP50Ms: number;
  generatorLagP99Ms: number;
}

/**
 * Accounts one run: each request of the window costs from its intended time
 * (`intended[k]`; a closed loop passes the send times) to its answer.
 */
export function summarize(
  intended: Float64Array,
  records: Records,
  window: Window,
): RunSummary {
  const latencies: number[] = [];
  const lags: number[] = [];
  let errors = 0;
  let unfinished = 0;
  let good = 0;
  let requests = 0;
  for (let k = 0; k < intended.length; k++) {
    const done = records.done[k]!;
    const status = records.status[k]!;
    if (
      done >= window.startNs && done < window.endNs && status >= 200 &&
      status < 400
    ) good++;
    const at = intended[k]!;
    if (at < window.startNs || at >= window.endNs) continue;
    requests++;
    const sent = records.sent[k]!;
    if (sent >= 0) lags.push(sent - Math.max(at, records.freeAt[k]!));
    if (done < 0) {
      unfinished++;
      latencies.push(window.stopNs - at);
      continue;
    }
    if (status < 200 || status >= 400) errors++;
    if (status !== 0) latencies.push(done - at);
  }
  const sorted = Float64Array.from(latencies).sort();
  const sortedLags = Float64Array.from(lags).sort();
  const seconds = (window.endNs - window.startNs) / 1e9;
  return {
    requests,
    offeredRps: requests / seconds,
    achievedRps: good / seconds,
    p50Ms: percentileOfSorted(sorted, 50) / 1e6,
    p99Ms: percentileOfSorted(sorted, 99) / 1e6,
    maxMs: (sorted.length ? sorted[sorted.length - 1]! : NaN) / 1e6,
    errors,
    unfinished,
    generatorLagP50Ms: percentileOfSorted(sortedLags, 50) / 1e6,
    generatorLagP99Ms: percentileOfSorted(sortedLags, 99) / 1e6,
  };
}

/** What openloop.c prints when it is done. */
export interface GeneratorStats {
  requests: number;
  sent: number;
  answered: number;
  reconnects: number;
  /** Its own CPU time (user + system). */
  cpuS: number;
  /** Of which polling for the next intended send (waiting, not working). */
  spinS: number;
  wallS: number;
}

/** Builds openloop.c into `dir` with cc; resolves with the binary's path. */
export async function buildGenerator(dir: string): Promise<string> {
  const binary = `${dir}/openloop`;
  const { code, stderr } = await collect(
    ["cc", "-O2", "-Wall", "-o", binary, SOURCE],
  ).catch((error) => ({ code: -1, stderr: String(error) }));
  if (code !== 0) {
    throw new Error(
      `Cannot build the open-loop generator (${SOURCE}) with cc: ${stderr.trim()}`,
    );
  }
  return binary;
}

/** Options of {@linkcode runGenerator}. */
export interface GeneratorRun {
  binary: string;
  port: number;
  connections: number;
  /** A file holding {@linkcode requestBytes}' output. */
  requestFile: string;
  /** Intended send times, or null for a closed loop of `runS` seconds. */
  schedule: Float64Array | null;
  runS: number;
  /** How long to wait for answers after the last intended send. */
  drainS: number;
  /** Where the schedule and the records go. */
  tmpDir: string;
  /** CPUs for the generator (`taskset -c`), or null. */
  cpus: string | null;
}

/** Runs openloop.c once against 127.0.0.1; resolves with its records. */
export async function runGenerator(
  run: GeneratorRun,
): Promise<{ stats: GeneratorStats; records: Records }> {
  const scheduleFile = `${run.tmpDir}/schedule.f64`;
  const outFile = `${run.tmpDir}/records.f64`;
  if (run.schedule !== null) {
    await Deno.writeFile(scheduleFile, new Uint8Array(run.schedule.buffer));
  }
  const args = [
    run.binary,
    "127.0.0.1",
    String(run.port),
    String(run.connections),
    run.requestFile,
    run.schedule === null ? "-" : scheduleFile,
    String(run.runS),
    String(run.drainS),
    outFile,
  ];
  const cmd = run.cpus === null ? args : ["taskset", "-c", run.cpus, ...args];
  const { code, stdout, stderr } = await collect(cmd);
  if (code !== 0) {
    throw new Error(`openloop exited with ${code}: ${stderr.trim()}`);
  }
  const stats = JSON.parse(stdout) as GeneratorStats;
  const records = parseRecords(await Deno.readFile(outFile));
  return { stats, records };
}
