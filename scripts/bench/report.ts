/**
 * The human-readable report: Markdown tables of every comparison, the
 * start-up, memory and CPU results, and the target verdicts.
 *
 * @module
 */

import { ratio } from "./stats.ts";
import { evaluateTargets, modelMemoryMB } from "./targets.ts";
import type {
  BatchingResults,
  BenchResults,
  ComparisonRow,
  InferenceResults,
  KeepAliveResults,
  LatencyResults,
  LoadResult,
} from "./types.ts";

const LABELS: Record<string, string> = {
  json: "JSON echo",
  binary: "1 MiB binary upload",
  multipart: "Multipart upload (64 KiB file)",
  grpc: "gRPC unary echo",
  "grpc-stream": "gRPC server streaming (messages/s)",
};

/** Formats a Markdown table with aligned columns (numbers right-aligned). */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))
  );
  const numeric = header.map((_, i) =>
    rows.length > 0 && rows.every((r) => /^[-\d.,x%+/ >=]*$/.test(r[i] ?? ""))
  );
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) =>
        numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)
      ).join(" | ")
    } |`;
  const rule = `|${
    widths.map((w, i) =>
      numeric[i] ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2)
    ).join("|")
  }|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** Requests per second with thousands separators. */
export function fmtRps(rps: number): string {
  return Math.round(rps).toLocaleString("en-US");
}

/** Milliseconds with 3 decimals below 10 ms, 1 below 100, none above. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  return ms.toFixed(ms < 10 ? 3 : ms < 100 ? 1 : 0);
}

function comparisonTable(rows: ComparisonRow[]): string {
  return markdownTable(
    [
      "Workload",
      "Conns",
      "Server",
      "Runtime req/s",
      "p50 ms",
      "p99 ms",
      "Raw req/s",
      "p50 ms",
      "p99 ms",
      "Ratio",
      "p50 +ms",
      "Errors",
    ],
    rows.map((r) => [
      LABELS[r.workload] ?? r.workload,
      String(r.connections),
      r.pinned ? "pinned" : "unpinned",
      fmtRps(r.runtime.rps),
      fmtMs(r.runtime.p50Ms),
      fmtMs(r.runtime.p99Ms),
      fmtRps(r.raw.rps),
      fmtMs(r.raw.p50Ms),
      fmtMs(r.raw.p99Ms),
      `${ratio(r.runtime.rps, r.raw.rps).toFixed(2)}x`,
      fmtMs(r.runtime.p50Ms - r.raw.p50Ms),
      `${r.runtime.errors}/${r.raw.errors}`,
    ]),
  );
}

/** The batching section: each API at 64 and 1 connection. */
export function batchingSection(b: BatchingResults): string {
  const row = (
    label: string,
    conns: number,
    r: LoadResult,
    base: LoadResult,
  ) => [
    label,
    String(conns),
    r.rps.toFixed(0),
    `${(r.rps / base.rps).toFixed(2)}x`,
    fmtMs(r.p50Ms),
    fmtMs(r.p99Ms),
    String(r.errors),
  ];
  return [
    markdownTable(
      ["API", "Conns", "Req/s", "Of unbatched", "p50 ms", "p99 ms", "Errors"],
      [
        row("unbatched", 64, b.at64.plain, b.at64.plain),
        row("fixed (32, 10ms)", 64, b.at64.fixed, b.at64.plain),
        row("adaptive (32, max 100ms)", 64, b.at64.adaptive, b.at64.plain),
        row("unbatched", 1, b.at1.plain, b.at1.plain),
        row("adaptive (32, max 100ms)", 1, b.at1.adaptive, b.at1.plain),
      ],
    ),
    "",
    "One replica of a handler that costs 5 ms per call plus 0.5 ms per item, " +
    "one call at a time (server unpinned, access log off).",
  ].join("\n");
}

/** The inference section: latency, throughput, start-up and memory. */
export function inferenceSection(r: InferenceResults): string {
  const us = (t: InferenceResults["plain"]) =>
    `${t.p50Us.toFixed(1)} / ${t.p99Us.toFixed(1)} / ${t.meanUs.toFixed(1)}`;
  const e2e = (l: LoadResult) =>
    `${l.rps.toFixed(0)} req/s, p50 ${fmtMs(l.p50Ms)} ms, p99 ${
      fmtMs(l.p99Ms)
    } ms, ${l.errors} errors`;
  const mb = (v: number) => `${v.toFixed(1)} MB`;
  return [
    markdownTable(["Measure", "Value"], [
      ["Per inference, plain deno run (p50 / p99 / mean µs)", us(r.plain)],
      ["Per inference, in a replica (p50 / p99 / mean µs)", us(r.replica)],
      [
        "Replica / plain (mean)",
        `${ratio(r.replica.meanUs, r.plain.meanUs).toFixed(2)}x`,
      ],
      ["End to end, c=1, one replica", e2e(r.c1)],
      ["End to end, c=8, one replica", e2e(r.c8)],
      [
        "Start to ready (serve spawned → /healthz 200)",
        `${fmtMs(r.readyMs)} ms`,
      ],
      [
        "Replica RSS idle: model / no model",
        `${mb(r.rss.model.idleMB)} / ${mb(r.rss.noModel.idleMB)}`,
      ],
      [
        "Replica RSS after load: model / no model",
        `${mb(r.rss.model.loadedMB)} / ${mb(r.rss.noModel.loadedMB)}`,
      ],
      ["The model's cost (larger difference)", mb(modelMemoryMB(r))],
    ]),
    "",
    "examples/onnx's model (onnxruntime-web, WASM, one thread), one replica, " +
    "access log off; the no-model replica is projects/echo in the same state.",
  ].join("\n");
}

/** The latency section: p50/p99/max per offered rate, both servers. */
export function latencySection(l: LatencyResults): string {
  const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
  const us = (ms: number) => (ms * 1000).toFixed(ms < 0.1 ? 1 : 0);
  const rows = l.runtime.map((rt, i) => {
    const raw = l.raw[i]!;
    const bound = (p: typeof rt, v: number) =>
      `${p.unfinished > 0 ? ">=" : ""}${fmtMs(v)}`;
    return [
      pct(rt.fraction),
      fmtRps(rt.offeredRps),
      fmtRps(rt.achievedRps),
      bound(rt, rt.p50Ms),
      bound(rt, rt.p99Ms),
      bound(rt, rt.maxMs),
      fmtRps(raw.achievedRps),
      bound(raw, raw.p50Ms),
      bound(raw, raw.p99Ms),
      bound(raw, raw.maxMs),
      `${rt.errors}/${raw.errors}`,
      `${rt.unfinished}/${raw.unfinished}`,
      `${pct(rt.generatorCpu)}/${pct(raw.generatorCpu)}`,
      `${us(rt.generatorLagP99Ms)}/${us(raw.generatorLagP99Ms)}`,
      `${pct(rt.serverCpu)}/${pct(raw.serverCpu)}`,
    ];
  });
  const max = (name: string, m: LatencyResults["rawMax"]) =>
    `${name} ${fmtRps(m.rps)} req/s (p50 ${fmtMs(m.p50Ms)} ms, p99 ${
      fmtMs(m.p99Ms)
    } ms; generator ${pct(m.generatorCpu)}, server ${
      pct(m.serverCpu)
    } of a core)`;
  return [
    markdownTable(
      [
        "Offered",
        "Offered req/s",
        "Runtime req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "Raw req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "Errors",
        "Unanswered",
        "Generator CPU",
        "Gen. lag p99 µs",
        "Server CPU",
      ],
      rows,
    ),
    "",
    `Open loop: each rate is a fixed schedule of requests over ${l.connections} ` +
    `kept-alive connections (scripts/bench/openloop.c), ${l.runS} s measured ` +
    `after ${l.warmupS} s at the same rate, runtime then raw; latency runs ` +
    `from each request's intended send time to its answer, so queueing in ` +
    `the server (or for a free connection) counts. Offered rates are shares of ` +
    `raw Deno.serve's closed-loop maximum from the same generator: ` +
    `${max("raw", l.rawMax)}; ${max("runtime", l.runtimeMax)}. ` +
    `Generator lag: its own lateness in sending, p99, from when a request ` +
    `could go out (its intended time, or when a connection became free) to ` +
    `when it did; small means the generator kept up with its schedule. ` +
    `Pairs are runtime/raw; ">=" marks a lower bound (requests still ` +
    `unanswered at the end counted with what they had waited). CPU is a ` +
    `share of one core over the run (server: all its processes${
      l.pinned ? ", pinned to one core" : ""
    }). Chart: latency.svg beside this report.`,
  ].join("\n");
}

/** The keep-alive scale-up section: each phase against its ideal. */
export function keepaliveSection(k: KeepAliveResults): string {
  const row = (label: string, p: KeepAliveResults["before"]) => [
    label,
    String(p.replicas),
    p.rps.toFixed(1),
    p.capacityRps.toFixed(0),
    `${(p.rps / p.capacityRps * 100).toFixed(0)}%`,
    fmtMs(p.p50Ms),
    fmtMs(p.idealP50Ms),
    `${(p.p50Ms / k.handlerMs).toFixed(2)}x`,
    fmtMs(p.p99Ms),
    String(p.servedBy),
    String(p.errors),
  ];
  return [
    markdownTable(
      [
        "Phase",
        "Replicas",
        "Req/s",
        "Ideal req/s",
        "Of ideal",
        "p50 ms",
        "Ideal p50 ms",
        "p50 / handler",
        "p99 ms",
        "Served by",
        "Errors",
      ],
      [
        row("Before scale-up", k.before),
        row("After scale-up (same connections)", k.after),
      ],
    ),
    "",
    `${k.clients} closed-loop clients (server unpinned), each on one kept-alive HTTP/1.1 ` +
    `connection opened while 1 replica listened; a ${k.handlerMs} ms handler, ` +
    `${k.slotsPerReplica} calls at a time per replica. Ideal req/s = replicas x ` +
    `${k.slotsPerReplica} / ${
      k.handlerMs / 1000
    } s; ideal p50 = max(${k.handlerMs} ms, ` +
    `clients / ideal req/s). Scale-up (control-API patch ` +
    `\`autoscaling.min_replicas\`) to ${k.after.replicas} ready replicas took ` +
    `${(k.scaleUpMs / 1000).toFixed(1)} s; ${
      k.handedOff.toLocaleString("en-US")
    } requests were handed to another replica; the clients opened ` +
    `${k.connections} connections in all.`,
  ].join("\n");
}

/** Renders the whole report. */
export function renderReport(r: BenchResults): string {
  const m = r.meta;
  const placement = m.cpus.server === null
    ? "no CPU pinning (fewer than 2 cores or no taskset)"
    : `server pinned to CPU ${m.cpus.server} (unpinned: CPUs ${m.cpus.all}), load generator on CPU ${m.cpus.load}`;
  const out: string[] = [
    `# Cortex for Deno benchmark`,
    "",
    `${m.date}: Deno ${m.deno} (V8 ${m.v8}), ${m.cores} cores (${m.cpuModel}), Linux ${m.kernel}; ` +
    `${placement}; ${m.durationS} s per run after ${m.warmupS} s warm-up, loopback.`,
    "",
  ];
  const busy = Object.entries(m.busyBefore);
  if (busy.length > 0) {
    out.push(
      `Machine busy before each scenario (other processes, share of all CPUs): ` +
        busy.map(([k, v]) => `${k} ${((v ?? 0) * 100).toFixed(0)}%`).join(
          ", ",
        ) +
        (busy.some(([, v]) => (v ?? 0) > 0.1)
          ? ". Above ~10% the numbers are perturbed."
          : "."),
      "",
    );
  }

  out.push(
    "## HTTP: runtime (deno task serve, 1 replica, access log on) vs raw Deno.serve (wrk)",
    "",
  );
  if (!r.http) out.push("Not run.");
  else if ("error" in r.http) out.push(`Failed: ${r.http.error}`);
  else {
    out.push(comparisonTable(r.http.rows));
    const perReq = r.http.runtimeLogLines / Math.max(1, r.http.runtimeRequests);
    out.push(
      "",
      `Errors are runtime/raw (non-2xx and socket errors). The runtime wrote ` +
        `${
          r.http.runtimeLogLines.toLocaleString("en-US")
        } log lines to its stdout pipe ` +
        `(${perReq.toFixed(2)} per request), drained by the bench.`,
    );
  }
  out.push(
    "",
    "## gRPC: runtime vs raw grpc-js under Deno (1 stream per connection)",
    "",
  );
  if (!r.grpc) out.push("Not run.");
  else if (r.grpc.status === "ok") out.push(comparisonTable(r.grpc.rows));
  else out.push(`gRPC: ${r.grpc.status} (${r.grpc.reason.split("\n")[0]})`);

  out.push("", "## Start-up, memory, CPU-bound handler", "");
  const rows: string[][] = [];
  if (r.startup && "medianMs" in r.startup) {
    rows.push([
      `Start to first 200 (${r.startup.project}), median of ${r.startup.samplesMs.length}`,
      `${r.startup.medianMs.toFixed(0)} ms`,
      `runs: ${r.startup.samplesMs.map((s) => s.toFixed(0)).join(", ")} ms`,
    ]);
  } else if (r.startup) {
    rows.push(["Start-up", "failed", r.startup.error.split("\n")[0]!]);
  }
  if (r.memory && "idleMB" in r.memory) {
    const mem = r.memory;
    rows.push(
      [
        "Idle RSS, serving process + 1 replica process",
        `${mem.idleMB.toFixed(1)} MB`,
        `supervisor ${mem.supervisorMB.toFixed(1)} MB`,
      ],
      [
        `Idle RSS, ${mem.replicas} replicas`,
        `${mem.idleManyMB.toFixed(1)} MB`,
        `${mem.perExtraReplicaMB.toFixed(1)} MB per extra replica`,
      ],
      ...(mem.perExtraReplicaPrivateMB === undefined ? [] : [[
        `Idle private memory (no shared pages), 1 / ${mem.replicas} replicas`,
        `${mem.idlePrivateMB!.toFixed(1)} / ${
          mem.idleManyPrivateMB!.toFixed(1)
        } MB`,
        `${mem.perExtraReplicaPrivateMB.toFixed(1)} MB per extra replica`,
      ]]),
      [
        `RSS under load (JSON, ${mem.loadConnections} conns, ${
          fmtRps(mem.load.rps)
        } req/s)`,
        `${mem.loadPeakMB.toFixed(1)} MB peak`,
        `${mem.afterLoadMB.toFixed(1)} MB right after`,
      ],
    );
  } else if (r.memory) {
    rows.push(["Memory", "failed", r.memory.error.split("\n")[0]!]);
  }
  if (r.cpu && "speedup" in r.cpu) {
    const c = r.cpu;
    rows.push(
      [
        `CPU-bound (${
          c.burnMs.toFixed(1)
        } ms of work/request, ${c.connections} conns), 1 replica`,
        `${fmtRps(c.one.rps)} req/s`,
        `p50 ${fmtMs(c.one.p50Ms)} ms, p99 ${
          fmtMs(c.one.p99Ms)
        } ms, errors ${c.one.errors}`,
      ],
      [
        "CPU-bound, 2 replicas",
        `${fmtRps(c.two.rps)} req/s`,
        `${c.speedup.toFixed(2)}x of 1 replica; p50 ${
          fmtMs(c.two.p50Ms)
        } ms, p99 ${fmtMs(c.two.p99Ms)} ms, errors ${c.two.errors}`,
      ],
    );
  } else if (r.cpu) {
    rows.push(["CPU-bound", "failed", r.cpu.error.split("\n")[0]!]);
  }
  out.push(
    rows.length
      ? markdownTable(["Measure", "Value", "Notes"], rows)
      : "Not run.",
  );

  out.push(
    "",
    "## Keep-alive scale-up: kept-alive clients, 1 replica, then 4 (issue 19)",
    "",
  );
  if (!r.keepalive) out.push("Not run.");
  else if ("error" in r.keepalive) {
    out.push(`Failed: ${r.keepalive.error.split("\n")[0]}`);
  } else out.push(keepaliveSection(r.keepalive));

  out.push("", "## Server-side batching (issue 15)", "");
  if (!r.batching) out.push("Not run.");
  else if ("error" in r.batching) {
    out.push(`Failed: ${r.batching.error.split("\n")[0]}`);
  } else out.push(batchingSection(r.batching));

  out.push("", "## Model inference (issue 14)", "");
  if (!r.inference) out.push("Not run.");
  else if ("error" in r.inference) {
    out.push(`Failed: ${r.inference.error.split("\n")[0]}`);
  } else out.push(inferenceSection(r.inference));

  out.push(
    "",
    "## Latency vs offered load: runtime vs raw Deno.serve, open loop (issue 17)",
    "",
  );
  if (!r.latency) out.push("Not run.");
  else if ("error" in r.latency) {
    out.push(`Failed: ${r.latency.error.split("\n")[0]}`);
  } else out.push(latencySection(r.latency));

  out.push("", "## Targets", "");
  out.push(markdownTable(
    ["Target", "Measured", "Result"],
    evaluateTargets(r).map((v) => [v.target, v.value, v.status]),
  ));
  return out.join("\n") + "\n";
}
