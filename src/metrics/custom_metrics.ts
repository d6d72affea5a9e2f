/**
 * The metrics client handlers get as `ctx.metrics`. Values are kept per
 * replica and merged into `GET /metrics` by the main thread.
 *
 * @module
 */

import type { MetricsClient } from "../handler/handler_context.ts";
import { LATENCY_BUCKETS } from "./request_stats.ts";

/** One series: a metric name plus its tags. */
export interface CustomSeries {
  name: string;
  type: "gauge" | "counter" | "histogram";
  tags: Record<string, string>;
  /** Gauge value, counter total, or histogram sum. */
  value: number;
  /** Histogram only: observations and non-cumulative bucket counts. */
  count?: number;
  buckets?: number[];
}

/** The identity of a series: its name and its tags in key order. */
export function seriesKey(name: string, tags: Record<string, string>): string {
  return `${name}\0${JSON.stringify(Object.entries(tags).sort())}`;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TAG = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function validate(name: string, tags: Record<string, string>): void {
  if (!NAME.test(name)) {
    throw new TypeError(
      `Cannot record metric "${name}": names must match ${NAME.source}`,
    );
  }
  if (name.startsWith("cortex_")) {
    throw new TypeError(
      `Cannot record metric "${name}": the "cortex_" prefix is reserved for the runtime`,
    );
  }
  for (const key of Object.keys(tags)) {
    if (!TAG.test(key) || key.startsWith("__")) {
      throw new TypeError(
        `Cannot record metric "${name}": tag "${key}" is not a valid label name`,
      );
    }
  }
}

/**
 * True for a series as {@linkcode CustomMetrics} builds it: the serving
 * process checks what replicas send with it before rendering /metrics.
 */
export function isValidSeries(s: unknown): s is CustomSeries {
  if (typeof s !== "object" || s === null) return false;
  const { name, type, tags, value, count, buckets } = s as CustomSeries;
  if (
    typeof name !== "string" || !NAME.test(name) || name.startsWith("cortex_")
  ) return false;
  if (type !== "gauge" && type !== "counter" && type !== "histogram") {
    return false;
  }
  if (typeof value !== "number" || Number.isNaN(value)) return false;
  if (typeof tags !== "object" || tags === null || Array.isArray(tags)) {
    return false;
  }
  for (const [key, v] of Object.entries(tags)) {
    if (!TAG.test(key) || key.startsWith("__") || typeof v !== "string") {
      return false;
    }
  }
  if (type !== "histogram") return count === undefined && buckets === undefined;
  return typeof count === "number" && Number.isFinite(count) &&
    Array.isArray(buckets) && buckets.length === LATENCY_BUCKETS.length + 1 &&
    buckets.every((n) => typeof n === "number" && Number.isFinite(n));
}

/** In-replica store behind `ctx.metrics`. */
export class CustomMetrics implements MetricsClient {
  readonly #series = new Map<string, CustomSeries>();

  #get(
    type: CustomSeries["type"],
    name: string,
    tags: Record<string, string>,
  ): CustomSeries {
    validate(name, tags);
    const key = seriesKey(name, tags);
    let s = this.#series.get(key);
    if (!s) {
      s = { name, type, tags: { ...tags }, value: 0 };
      if (type === "histogram") {
        s.count = 0;
        s.buckets = new Array(LATENCY_BUCKETS.length + 1).fill(0);
      }
      this.#series.set(key, s);
    } else if (s.type !== type) {
      throw new TypeError(
        `Cannot record metric "${name}" as a ${type}: it is already a ${s.type}`,
      );
    }
    return s;
  }

  gauge(name: string, value: number, tags: Record<string, string> = {}): void {
    this.#get("gauge", name, tags).value = value;
  }

  increment(name: string, value = 1, tags: Record<string, string> = {}): void {
    this.#get("counter", name, tags).value += value;
  }

  histogram(
    name: string,
    value: number,
    tags: Record<string, string> = {},
  ): void {
    const s = this.#get("histogram", name, tags);
    s.value += value;
    s.count! += 1;
    let i = LATENCY_BUCKETS.findIndex((le) => value <= le);
    if (i === -1) i = LATENCY_BUCKETS.length;
    s.buckets![i]!++;
  }

  /** A copy of every series. */
  snapshot(): CustomSeries[] {
    return structuredClone([...this.#series.values()]);
  }
}
