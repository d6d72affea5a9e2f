/**
 * Validation of the `autoscaling` section of one API (Cortex v0.35 fields plus
 * our `tick`, `panic_mode` and `panic_window`).
 *
 * @module
 */

import { formatDuration } from "./duration.ts";
import type { FieldReader } from "./field_reader.ts";
import type { AutoscalingConfig } from "./resolved_config.ts";

const AUTOSCALING_KEYS = [
  "min_replicas",
  "max_replicas",
  "init_replicas",
  "max_replica_concurrency",
  "target_replica_concurrency",
  "window",
  "downscale_stabilization_period",
  "upscale_stabilization_period",
  "max_downscale_factor",
  "max_upscale_factor",
  "downscale_tolerance",
  "upscale_tolerance",
  "tick",
  "panic_mode",
  "panic_window",
] as const;

/**
 * Cortex requires `window` >= 10s. We accept 1s: a local server can average
 * over a short window, and end-to-end tests need to see scaling within seconds.
 */
export const MIN_WINDOW_MS = 1_000;
const DEFAULT_PANIC_WINDOW_MS = 6_000;

/**
 * Reads `autoscaling.*`. `concurrency` is processes × threads per replica,
 * the default `target_replica_concurrency`.
 */
export function readAutoscaling(
  r: FieldReader,
  concurrency: number,
): AutoscalingConfig {
  r.checkKeys(AUTOSCALING_KEYS);
  const minReplicas = r.integer("min_replicas", { min: 1 }) ?? 1;
  const maxReplicas = r.integer("max_replicas", { min: 1 }) ?? 100;
  const initReplicas = r.integer("init_replicas", { min: 1 }) ?? minReplicas;
  const maxReplicaConcurrency =
    r.integer("max_replica_concurrency", { min: 1, max: 30_000 }) ?? 1024;
  const target = r.number("target_replica_concurrency", { above: 0 }) ??
    concurrency;
  const windowMs = r.duration("window", { min: MIN_WINDOW_MS }) ?? 60_000;
  const config: AutoscalingConfig = {
    minReplicas,
    maxReplicas,
    initReplicas,
    maxReplicaConcurrency,
    targetReplicaConcurrency: target,
    windowMs,
    downscaleStabilizationPeriodMs:
      r.duration("downscale_stabilization_period", { min: 0 }) ?? 300_000,
    upscaleStabilizationPeriodMs:
      r.duration("upscale_stabilization_period", { min: 0 }) ?? 60_000,
    maxDownscaleFactor:
      r.number("max_downscale_factor", { min: 0, below: 1 }) ?? 0.75,
    maxUpscaleFactor: r.number("max_upscale_factor", { above: 1 }) ?? 1.5,
    downscaleTolerance: r.number("downscale_tolerance", { min: 0 }) ?? 0.05,
    upscaleTolerance: r.number("upscale_tolerance", { min: 0 }) ?? 0.05,
    tickMs: r.duration("tick", { min: 100 }) ?? 10_000,
    panicMode: r.boolean("panic_mode") ?? false,
    // Unset, the panic window shrinks to fit a short stable window.
    panicWindowMs: r.duration("panic_window", { above: 0 }) ??
      Math.min(DEFAULT_PANIC_WINDOW_MS, windowMs),
  };
  checkRelations(r, config);
  return config;
}

/** Checks between fields, each only when the fields involved are valid. */
function checkRelations(r: FieldReader, c: AutoscalingConfig): void {
  const both = (a: string, b: string) => r.ok(a) && r.ok(b) && r.has(b);
  if (both("min_replicas", "max_replicas") && c.maxReplicas < c.minReplicas) {
    rejectValue(
      r,
      "max_replicas",
      `must be at least autoscaling.min_replicas (${c.minReplicas})`,
    );
  } else if (
    !r.has("max_replicas") && r.ok("min_replicas") &&
    c.minReplicas > c.maxReplicas
  ) {
    rejectValue(
      r,
      "min_replicas",
      `must be at most autoscaling.max_replicas (${c.maxReplicas})`,
    );
  }
  if (
    r.has("init_replicas") && r.ok("init_replicas") && r.ok("min_replicas") &&
    r.ok("max_replicas") &&
    (c.initReplicas < c.minReplicas || c.initReplicas > c.maxReplicas)
  ) {
    rejectValue(
      r,
      "init_replicas",
      `must be from autoscaling.min_replicas (${c.minReplicas}) to autoscaling.max_replicas (${c.maxReplicas})`,
    );
  }
  if (
    r.ok("target_replica_concurrency") && r.ok("max_replica_concurrency") &&
    c.targetReplicaConcurrency > c.maxReplicaConcurrency
  ) {
    const key = r.has("target_replica_concurrency")
      ? "target_replica_concurrency"
      : "max_replica_concurrency";
    const text = key === "max_replica_concurrency"
      ? `must be at least autoscaling.target_replica_concurrency (${c.targetReplicaConcurrency})`
      : `must be at most autoscaling.max_replica_concurrency (${c.maxReplicaConcurrency})`;
    rejectValue(r, key, text);
  }
  if (
    r.has("panic_window") && r.ok("panic_window") && r.ok("window") &&
    c.panicWindowMs > c.windowMs
  ) {
    rejectValue(
      r,
      "panic_window",
      `must be at most autoscaling.window (${formatDuration(c.windowMs)})`,
    );
  }
}

function rejectValue(r: FieldReader, key: string, text: string): void {
  const node = r.node(key);
  if (node === undefined) r.fail(key, text);
  else r.reject(key, node, text);
}
