/**
 * `deno task bench:stages`: the cost budget per stage of a request (issue
 * 17). Runs the `*_bench.ts` files under src/ with `deno bench --json`
 * (`--runs N` times, each after waiting for a quiet machine; per bench the
 * lowest of the runs' averages, the least perturbed by other processes on a
 * shared machine), and prints a Markdown table of
 * each stage's cost per request in ns next to raw `Deno.serve`'s whole
 * request cost, taken from a `deno task bench` result (`--raw FILE`, default
 * bench-results/latest.json, when it has the HTTP scenario).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { collect, parseProcStat, readProc, waitQuiet } from "./proc.ts";
import { markdownTable } from "./report.ts";
import { REPO } from "./servers.ts";
import type { BenchResults } from "./types.ts";

/** Where a stage runs. */
export type StageWhere = "replica" | "serving process";

/** One row of the budget: a bench (minus another), per request. */
export interface StageSpec {
  stage: string;
  where: StageWhere;
  /** The code it measures. */
  code: string;
  /** The `Deno.bench` name. */
  bench: string;
  /** A bench whose cost is subtracted (e.g. building the Request). */
  minus?: string;
  /** Requests (log lines) one iteration stands for. */
  per?: number;
  /** What raw Deno.serve pays for the same work (bench names), if anything. */
  raw?: { bench: string; minus?: string };
  /** Already counted inside another stage: left out of the sums. */
  within?: string;
}

const NEW_REQUEST = "payload: new Request (JSON body), no parse";
const BATCH = 100;

/** The stages of a plain JSON request, in the order a request meets them. */
export const STAGES: readonly StageSpec[] = [
  {
    stage: "request id",
    where: "replica",
    code: "src/replica/http_pipeline.ts requestIdOf (randomUUID)",
    bench: "request id: requestIdOf, no x-request-id (randomUUID)",
  },
  {
    stage: "admission",
    where: "replica",
    code: "src/replica/admission.ts tryAdmit, addLoad x2, finish",
    bench: "admission: tryAdmit + addLoad(+1) ... addLoad(-1) + finish",
  },
  {
    stage: "slot",
    where: "replica",
    code: "src/replica/slots.ts tryAcquire + release",
    bench: "slot: tryAcquire + release (a free slot)",
  },
  {
    stage: "payload parse (JSON, 150 B)",
    where: "replica",
    code: "src/http/payload.ts parsePayload",
    bench: "payload: new Request + parsePayload (JSON)",
    minus: NEW_REQUEST,
    raw: {
      bench: "payload: new Request + req.json() (raw Deno)",
      minus: NEW_REQUEST,
    },
  },
  {
    stage: "handler call",
    where: "replica",
    code: "src/replica/request_context.ts callInRequest + LazyRequestInfo",
    bench: "handler call: new LazyRequestInfo + callInRequest (sync method)",
    raw: { bench: "handler call: method(payload, req) directly (raw)" },
  },
  {
    stage: "encode (x-request-id set inside)",
    where: "replica",
    code: "src/http/response.ts encodeResult",
    bench: "encode: encodeResult(object) with x-request-id",
    raw: { bench: "encode: Response.json(object) (raw Deno)" },
  },
  {
    stage: "x-request-id",
    where: "replica",
    code: "Response headers.set(x-request-id)",
    bench: "x-request-id: the same + headers.set(x-request-id)",
    minus: "x-request-id: new Response(body, content-type), without it",
    within: "encode",
  },
  {
    stage: "deadline",
    where: "replica",
    code: "src/replica/deadlines.ts arm + cancel (the run is its deadline)",
    bench: "deadline: arm + cancel (the request run is its own deadline)",
  },
  {
    stage: "stats",
    where: "replica",
    code: "src/metrics/request_stats.ts observe",
    bench: "stats: RequestStats.observe(200, 0.4 ms)",
  },
  {
    stage: "access entry",
    where: "replica",
    code: "src/replica/http_pipeline.ts finish(): pathOf, content-length",
    bench: "access entry: pathOf(url), content-length in and out, latency",
  },
  {
    stage: "access record",
    where: "replica",
    code: "src/log/access_record.ts accessRecordWriter",
    bench: "access record: accessRecordWriter(line)(entry)",
  },
  {
    stage: "log hand-off: batch",
    where: "replica",
    code: "src/log/line_buffer.ts push (256 KiB batches)",
    bench: "log hand-off: LineBuffer.push(access record), 256 KiB batches",
  },
  {
    stage: "log hand-off: frame encode",
    where: "replica",
    code: `src/grpc/common/frames.ts encodeTextFrame (${BATCH}-line batch)`,
    bench: `log hand-off: encodeTextFrame, batch of ${BATCH} lines`,
    per: BATCH,
  },
  {
    stage: "log hand-off: frame decode",
    where: "serving process",
    code: `src/grpc/common/frames.ts FrameDecoder, text (${BATCH}-line batch)`,
    bench:
      `log hand-off: FrameDecoder.push text frame, batch of ${BATCH} lines`,
    per: BATCH,
  },
  {
    stage: "message check",
    where: "serving process",
    code: "src/wire/replica_message_check.ts checkFromReplica",
    bench: `message check: checkFromReplica(log), batch of ${BATCH} lines`,
    per: BATCH,
  },
  {
    stage: "access line: render + check",
    where: "serving process",
    code:
      `src/wire/replica_log_check.ts ownLines + src/log/access_record.ts (${BATCH}-record batch)`,
    bench: `log check: ownLines, batch of ${BATCH} access records (rendered)`,
    per: BATCH,
  },
];

/** The whole request in-process: the pipeline and the raw echo. */
export const WHOLE = {
  raw: "whole request in-process: new Request + req.json() + Response.json()",
  pipeline: "whole request in-process: new Request + replica pipeline",
} as const;

/** `deno bench --json` output, the parts used here. */
export interface DenoBenchJson {
  runtime?: string;
  cpu?: string;
  benches: Array<{
    name: string;
    results: Array<{ ok?: { avg: number; n: number } }>;
  }>;
}

/** Average ns per iteration of each bench, from one `deno bench --json`. */
export function benchAverages(json: DenoBenchJson): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of json.benches) {
    const avg = b.results[0]?.ok?.avg;
    if (avg !== undefined) out.set(b.name, avg);
  }
  return out;
}

/** The lowest over runs of each bench's average. */
export function lowestAverages(
  runs: Map<string, number>[],
): Map<string, number> {
  const names = new Set(runs.flatMap((r) => [...r.keys()]));
  const out = new Map<string, number>();
  for (const name of names) {
    const values = runs.map((r) => r.get(name)).filter((v) =>
      v !== undefined
    ) as number[];
    out.set(name, Math.min(...values));
  }
  return out;
}

/** One computed row. */
export interface StageCost {
  spec: StageSpec;
  /** ns per request. */
  ns: number;
  /** ns raw Deno.serve pays for the same work, or null when it does none. */
  rawNs: number | null;
}

function cost(
  avg: Map<string, number>,
  bench: string,
  minus: string | undefined,
  per: number,
): number {
  const a = avg.get(bench);
  if (a === undefined) throw new Error(`No result for bench "${bench}"`);
  let ns = a;
  if (minus !== undefined) {
    const b = avg.get(minus);
    if (b === undefined) throw new Error(`No result for bench "${minus}"`);
    ns -= b;
  }
  return Math.max(0, ns) / per;
}

/** Each stage's cost per request. */
export function stageCosts(avg: Map<string, number>): StageCost[] {
  return STAGES.map((spec) => ({
    spec,
    ns: cost(avg, spec.bench, spec.minus, spec.per ?? 1),
    rawNs: spec.raw
      ? cost(avg, spec.raw.bench, spec.raw.minus, spec.per ?? 1)
      : null,
  }));
}

/** Whole-request figures of a `deno task bench` run (ns per request). */
export interface WholeRequest {
  date: string;
  /** Where the server ran, the run length and how busy the machine was. */
  placement: string;
  /** connections → { raw, runtime } ns per request (1e9 / req/s). */
  byConnections: Map<number, { raw: number; runtime: number }>;
}

/** The JSON echo rows of a bench result, as ns per request. */
export function wholeRequest(results: BenchResults): WholeRequest | null {
  if (!results.http || !("rows" in results.http)) return null;
  const pinned = results.meta.cpus.server !== null;
  const byConnections = new Map<number, { raw: number; runtime: number }>();
  for (const row of results.http.rows) {
    if (row.workload !== "json" || row.pinned !== pinned) continue;
    byConnections.set(row.connections, {
      raw: 1e9 / row.raw.rps,
      runtime: 1e9 / row.runtime.rps,
    });
  }
  if (byConnections.size === 0) return null;
  return {
    date: results.meta.date,
    placement: `${
      pinned ? `server pinned to CPU ${results.meta.cpus.server}` : "unpinned"
    }, ${results.meta.durationS} s runs, machine ${
      ((results.meta.busyBefore.http ?? 0) * 100).toFixed(0)
    }% busy before it`,
    byConnections,
  };
}

const ns = (v: number) => Math.round(v).toLocaleString("en-US");

/** The Markdown budget. */
export function renderStages(
  avg: Map<string, number>,
  whole: WholeRequest | null,
): string {
  const costs = stageCosts(avg);
  // Raw Deno.serve's whole request at the most connections: with the server
  // on one core and saturated, its CPU per request.
  const top = whole
    ? [...whole.byConnections].sort((a, b) => b[0] - a[0])[0]
    : undefined;
  const share = (v: number) =>
    top ? [`${(v / top[1].raw * 100).toFixed(1)}%`] : [];
  const rows = costs.map((c) => [
    c.spec.stage + (c.spec.within ? ` (within ${c.spec.within})` : ""),
    c.spec.where,
    c.spec.code,
    ns(c.ns),
    c.rawNs === null ? "-" : ns(c.rawNs),
    c.rawNs === null ? ns(c.ns) : ns(c.ns - c.rawNs),
    ...share(c.ns - (c.rawNs ?? 0)),
  ]);
  const counted = costs.filter((c) => !c.spec.within);
  const sum = (where: StageWhere) =>
    counted.filter((c) => c.spec.where === where);
  for (const where of ["replica", "serving process"] as const) {
    const list = sum(where);
    const total = list.reduce((s, c) => s + c.ns, 0);
    const raw = list.reduce((s, c) => s + (c.rawNs ?? 0), 0);
    rows.push([
      `**sum, ${where}**`,
      where,
      "the stages above",
      ns(total),
      ns(raw),
      ns(total - raw),
      ...share(total - raw),
    ]);
  }
  const out = [
    markdownTable(
      [
        "Stage",
        "Where",
        "Code",
        "ns/request",
        "Raw Deno ns",
        "Overhead ns",
        ...(top ? [`Overhead / raw Deno.serve request (c=${top[0]})`] : []),
      ],
      rows,
    ),
    "",
  ];
  const rawIn = avg.get(WHOLE.raw);
  const pipeIn = avg.get(WHOLE.pipeline);
  const wholeRows: string[][] = [];
  if (rawIn !== undefined && pipeIn !== undefined) {
    const stagesOver = counted.filter((c) => c.spec.where === "replica")
      .reduce((s, c) => s + c.ns - (c.rawNs ?? 0), 0);
    wholeRows.push(
      [
        "In-process raw echo: new Request + req.json() + Response.json()",
        ns(rawIn),
      ],
      [
        "In-process replica pipeline: new Request + requestIdOf + createHttpPipeline (access log on)",
        ns(pipeIn),
      ],
      ["Pipeline over the raw echo, in-process", ns(pipeIn - rawIn)],
      [
        "… of which the replica stages above (their overhead over raw)",
        ns(stagesOver),
      ],
      [
        "… unattributed (promises, RequestRun, closures between stages)",
        ns(pipeIn - rawIn - stagesOver),
      ],
    );
  }
  if (whole) {
    for (const [c, w] of [...whole.byConnections].sort((a, b) => a[0] - b[0])) {
      wholeRows.push(
        [
          `Raw Deno.serve, whole request over loopback, wrk c=${c} (1e9 / req/s)`,
          ns(w.raw),
        ],
        [
          `Runtime (1 replica, access log on), same run, c=${c} (1e9 / req/s)`,
          ns(w.runtime),
        ],
      );
    }
  }
  if (wholeRows.length > 0) {
    out.push(markdownTable(["Whole request", "ns/request"], wholeRows), "");
    if (whole) {
      out.push(
        `Whole-request figures: \`deno task bench\` of ${whole.date} (${whole.placement}). ` +
          "At c=1 they are the round trip (client, kernel and server); at " +
          "c=16/64 with the server on one core, the server's CPU per request.",
        "",
      );
    }
  }
  return out.join("\n");
}

const USAGE =
  `Usage: deno task bench:stages [--runs N] [--quiet-wait S] [--raw FILE] [--load FILE]

  --runs N         Runs of the benches; per bench the lowest of the runs'
                   averages (default 3)
  --quiet-wait S   Before each run, wait up to S seconds for other processes
                   to leave the CPUs idle (default 30, 0: no wait)
  --raw FILE       A deno task bench JSON with the HTTP scenario, for raw
                   Deno.serve's whole request (default bench-results/latest.json)
  --load FILE      Render a saved bench-results/stages-latest.json instead of
                   running the benches

Writes bench-results/stages-latest.{md,json}.`;

/** What a run saves, so the table can be rendered again (`--load`). */
interface SavedStages {
  header: string;
  averages: Record<string, number>;
}

function wholeNumber(
  value: string | undefined,
  flag: string,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new TypeError(
      `Option --${flag} is "${value}": expected a whole number, at least ${min}`,
    );
  }
  return n;
}

const log = (s: string) =>
  Deno.stderr.writeSync(new TextEncoder().encode(s + "\n"));

/** Runs the benches `runs` times; the lowest averages and a header line. */
async function measure(runs: number, quietWaitS: number): Promise<SavedStages> {
  const results: Map<string, number>[] = [];
  const busyBefore: number[] = [];
  const busyDuring: number[] = [];
  let meta: DenoBenchJson = { benches: [] };
  for (let i = 0; i < runs; i++) {
    busyBefore.push(await waitQuiet(quietWaitS, log));
    const statBefore = parseProcStat(await readProc("/proc/stat"));
    log(`deno bench --json src/ (run ${i + 1} of ${runs})`);
    const out = await collect([
      Deno.execPath(),
      "bench",
      "--json",
      "--no-prompt",
      "--allow-env",
      "src/",
    ], { cwd: REPO });
    if (out.code !== 0) {
      throw new Error(`deno bench failed (${out.code}):\n${out.stderr}`);
    }
    meta = JSON.parse(out.stdout) as DenoBenchJson;
    results.push(benchAverages(meta));
    const statAfter = parseProcStat(await readProc("/proc/stat"));
    busyDuring.push(
      (statAfter.busy - statBefore.busy) /
        Math.max(1, statAfter.total - statBefore.total),
    );
  }
  const cores = navigator.hardwareConcurrency;
  const pct = (v: number[]) =>
    v.map((b) => `${(b * 100).toFixed(0)}%`).join(", ");
  const header =
    `Measured ${new Date().toISOString().slice(0, 16)}Z: ${
      meta.runtime ?? "Deno"
    }, ${cores} cores (${meta.cpu ?? "?"}); per bench the lowest average ` +
    `of ${runs} run(s) of \`deno bench\`. Machine busy (share of all ` +
    `CPUs) before each run: ${pct(busyBefore)}; during: ${pct(busyDuring)} ` +
    `(the bench itself keeps one core, ${(100 / cores).toFixed(0)}%, busy).`;
  return {
    header,
    averages: Object.fromEntries(lowestAverages(results)),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string" },
      "quiet-wait": { type: "string" },
      raw: { type: "string" },
      load: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    Deno.stdout.writeSync(new TextEncoder().encode(USAGE + "\n"));
    return 0;
  }
  const runs = wholeNumber(values.runs, "runs", 3, 1);
  const quietWaitS = wholeNumber(values["quiet-wait"], "quiet-wait", 30, 0);
  const outDir = `${REPO}bench-results`;
  const rawFile = values.raw ?? `${outDir}/latest.json`;
  const saved: SavedStages = values.load
    ? JSON.parse(await Deno.readTextFile(values.load))
    : await measure(runs, quietWaitS);
  let whole: WholeRequest | null = null;
  try {
    whole = wholeRequest(
      JSON.parse(await Deno.readTextFile(rawFile)) as BenchResults,
    );
  } catch (error) {
    log(
      `No whole-request figures from ${rawFile}: ${(error as Error).message}`,
    );
  }
  const text = [
    saved.header,
    "",
    renderStages(new Map(Object.entries(saved.averages)), whole),
  ].join("\n");
  Deno.stdout.writeSync(new TextEncoder().encode(text));
  if (!values.load) {
    await Deno.mkdir(outDir, { recursive: true });
    await Deno.writeTextFile(
      `${outDir}/stages-latest.json`,
      JSON.stringify(saved, null, 2) + "\n",
    );
    await Deno.writeTextFile(`${outDir}/stages-latest.md`, text);
    log(`Wrote ${outDir}/stages-latest.{md,json}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
