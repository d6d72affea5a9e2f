/**
 * Prometheus text exposition (format 0.0.4) of the runtime's and the
 * handlers' metrics, merged across replicas.
 *
 * @module
 */

import {
  FIRST_BYTE_BUCKETS,
  STREAM_DURATION_BUCKETS,
  type StreamSnapshot,
} from "./stream_stats.ts";
import { type CustomSeries, seriesKey } from "./custom_metrics.ts";
import { LATENCY_BUCKETS, type StatsSnapshot } from "./request_stats.ts";
import {
  BATCH_SIZE_BUCKETS,
  BATCH_WAIT_BUCKETS,
  type BatchSnapshot,
} from "./batch_stats.ts";

/** One API's numbers at scrape time. */
export interface ApiMetrics {
  api: string;
  inFlight: number;
  queued: number;
  replicas: number;
  desiredReplicas: number;
  limit: number;
  restarts: number;
  /** Refusals by reason: 503 overloaded, 401 unauthorized, 429 rate_limited. */
  rejected: Record<string, number>;
  /** Requests a busy replica handed to another replica of the API. */
  handedOff: number;
  /** Clients a busy replica asked to reconnect. */
  reconnects: number;
  /** Work held by each live replica, by replica id. */
  replicaLoads: Record<string, number>;
  decisions: Record<string, number>;
  stats: StatsSnapshot;
  /** Batches, when the API batches (server_side_batching). */
  batches?: BatchSnapshot;
  /** Streamed responses, when reported. */
  streams?: StreamSnapshot;
  custom: CustomSeries[];
}

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(
    /"/g,
    '\\"',
  );
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : "-Inf";
}

class Writer {
  readonly lines: string[] = [];
  readonly #declared = new Set<string>();

  declare(name: string, type: string, help: string): void {
    if (this.#declared.has(name)) return;
    this.#declared.add(name);
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, l: Record<string, string>, value: number): void {
    this.lines.push(`${name}${labels(l)} ${num(value)}`);
  }

  histogram(
    name: string,
    l: Record<string, string>,
    h: { count: number; sum: number; buckets: number[] },
    bounds: readonly number[] = LATENCY_BUCKETS,
  ): void {
    let cumulative = 0;
    bounds.forEach((le, i) => {
      cumulative += h.buckets[i] ?? 0;
      this.sample(`${name}_bucket`, { ...l, le: String(le) }, cumulative);
    });
    this.sample(`${name}_bucket`, { ...l, le: "+Inf" }, h.count);
    this.sample(`${name}_sum`, l, h.sum);
    this.sample(`${name}_count`, l, h.count);
  }
}

const GAUGES: Array<[keyof ApiMetrics, string, string]> = [
  [
    "inFlight",
    "cortex_in_flight_requests",
    "Admitted requests: running, queued and pending callbacks",
  ],
  [
    "queued",
    "cortex_queued_requests",
    "Admitted requests waiting for a replica slot",
  ],
  ["replicas", "cortex_replicas", "Ready replicas"],
  [
    "desiredReplicas",
    "cortex_desired_replicas",
    "Replicas the autoscaler asks for",
  ],
  [
    "limit",
    "cortex_admission_limit",
    "Requests admitted at most (replicas x max_replica_concurrency)",
  ],
];

const COUNTERS: Array<[keyof ApiMetrics, string, string]> = [
  [
    "restarts",
    "cortex_replica_restarts_total",
    "Replicas replaced after a crash, hang or memory overrun",
  ],
  [
    "handedOff",
    "cortex_handed_off_requests_total",
    "Requests a replica with no free slot handed to another replica",
  ],
  [
    "reconnects",
    "cortex_reconnects_asked_total",
    "Kept-alive clients a busy replica asked to reconnect (connection: close)",
  ],
];

/** Renders every API's metrics. */
export function renderMetrics(apis: ApiMetrics[]): string {
  const w = new Writer();
  for (
    const [type, table] of [["gauge", GAUGES], ["counter", COUNTERS]] as const
  ) {
    for (const [key, name, help] of table) {
      w.declare(name, type, help);
      for (const a of apis) w.sample(name, { api: a.api }, a[key] as number);
    }
  }
  w.declare(
    "cortex_replica_in_flight_requests",
    "gauge",
    "Work held by one replica: running, queued and pending callbacks",
  );
  for (const a of apis) {
    for (const [replica, load] of Object.entries(a.replicaLoads)) {
      w.sample(
        "cortex_replica_in_flight_requests",
        { api: a.api, replica },
        load,
      );
    }
  }
  w.declare(
    "cortex_rejected_requests_total",
    "counter",
    "Requests refused by reason: overloaded (503), unauthorized (401), rate_limited (429)",
  );
  for (const a of apis) {
    for (const [reason, n] of Object.entries(a.rejected)) {
      w.sample("cortex_rejected_requests_total", { api: a.api, reason }, n);
    }
  }
  w.declare(
    "cortex_autoscaler_decisions_total",
    "counter",
    "Autoscaler decisions by direction",
  );
  for (const a of apis) {
    for (const [direction, n] of Object.entries(a.decisions)) {
      w.sample(
        "cortex_autoscaler_decisions_total",
        { api: a.api, direction },
        n,
      );
    }
  }
  w.declare(
    "cortex_requests_total",
    "counter",
    "Finished requests by status code and class",
  );
  for (const a of apis) {
    for (const [status, s] of Object.entries(a.stats)) {
      w.sample("cortex_requests_total", {
        api: a.api,
        status,
        status_class: `${status[0]}xx`,
      }, s.count);
    }
  }
  w.declare(
    "cortex_request_duration_seconds",
    "histogram",
    "Request latency by status code",
  );
  for (const a of apis) {
    for (const [status, s] of Object.entries(a.stats)) {
      w.histogram("cortex_request_duration_seconds", { api: a.api, status }, s);
    }
  }
  const streaming = apis.filter((a) => a.streams !== undefined);
  if (streaming.length > 0) {
    w.declare(
      "cortex_stream_first_byte_seconds",
      "histogram",
      "Time from a streamed response's request to its first chunk",
    );
    for (const a of streaming) {
      w.histogram(
        "cortex_stream_first_byte_seconds",
        { api: a.api },
        a.streams!.firstByte,
        FIRST_BYTE_BUCKETS,
      );
    }
    w.declare(
      "cortex_stream_duration_seconds",
      "histogram",
      "Time from a streamed response's request to its end",
    );
    for (const a of streaming) {
      w.histogram(
        "cortex_stream_duration_seconds",
        { api: a.api },
        a.streams!.duration,
        STREAM_DURATION_BUCKETS,
      );
    }
  }
  const batching = apis.filter((a) => a.batches !== undefined);
  if (batching.length > 0) {
    w.declare(
      "cortex_batch_size",
      "histogram",
      "Requests per batch (server_side_batching)",
    );
    for (const a of batching) {
      w.histogram(
        "cortex_batch_size",
        { api: a.api },
        a.batches!.size,
        BATCH_SIZE_BUCKETS,
      );
    }
    w.declare(
      "cortex_batch_wait_seconds",
      "histogram",
      "Time a request waited for its batch to start",
    );
    for (const a of batching) {
      w.histogram(
        "cortex_batch_wait_seconds",
        { api: a.api },
        a.batches!.wait,
        BATCH_WAIT_BUCKETS,
      );
    }
  }
  for (const a of apis) {
    for (const s of a.custom) {
      const l = { ...s.tags, api: a.api };
      if (s.type === "histogram") {
        w.declare(s.name, "histogram", `Handler metric ${s.name}`);
        w.histogram(s.name, l, {
          count: s.count ?? 0,
          sum: s.value,
          buckets: s.buckets ?? [],
        });
      } else {
        w.declare(s.name, s.type, `Handler metric ${s.name}`);
        w.sample(s.name, l, s.value);
      }
    }
  }
  return w.lines.join("\n") + "\n";
}

/** Merges handler series from several replicas (gauges: last value wins). */
export function mergeCustom(all: CustomSeries[][]): CustomSeries[] {
  const out = new Map<string, CustomSeries>();
  for (const series of all) {
    for (const s of series) {
      const key = seriesKey(s.name, s.tags);
      const t = out.get(key);
      if (!t) {
        out.set(key, structuredClone(s));
      } else if (s.type === "gauge") {
        t.value = s.value;
      } else {
        t.value += s.value;
        if (s.type === "histogram") {
          t.count = (t.count ?? 0) + (s.count ?? 0);
          t.buckets = (t.buckets ?? []).map((n, i) =>
            n + (s.buckets?.[i] ?? 0)
          );
        }
      }
    }
  }
  return [...out.values()];
}
