/**
 * Panic-mode bookkeeping after Knative's KPA: a burst seen over the short
 * panic window starts (or extends) a panic that lasts one stable window.
 *
 * @module
 */

import type { AutoscalingConfig } from "../config/resolved_config.ts";
import { averageInFlight, type Sample } from "./sampler.ts";

/** Panic starts when the panic-window load reaches this many times capacity (Knative's default 200%). */
export const PANIC_THRESHOLD = 2;

/** The panic state after one tick. */
export interface PanicState {
  /** Panic lasts until this time in ms (inclusive), null when not panicking. */
  panicUntil: number | null;
  /** Average in-flight over `panicWindowMs`, null when off or without samples. */
  avg: number | null;
  /** Whether this tick's load was over the threshold. */
  triggered: boolean;
}

/**
 * Updates the panic state: over the threshold it enters or extends panic to
 * `now + windowMs`; otherwise panic ends once `panicUntil` has passed.
 *
 * @param cfg The autoscaling config; panic is off unless `cfg.panicMode`.
 * @param tick The replicas now, the previous `panicUntil`, the samples and the time.
 * @returns The new panic state.
 *
 * @example
 * ```ts
 * import { panicStep } from "./panic.ts";
 * import type { AutoscalingConfig } from "../config/resolved_config.ts";
 *
 * const cfg = { panicMode: true, panicWindowMs: 6_000, windowMs: 60_000,
 *   targetReplicaConcurrency: 1 } as AutoscalingConfig;
 * const samples = [{ at: 1_000, inFlight: 4 }];
 * const p = panicStep(cfg, { current: 2, panicUntil: null, samples, now: 1_000 });
 * if (p.panicUntil !== 61_000) throw new Error("Expected panic");
 * ```
 */
export function panicStep(
  cfg: AutoscalingConfig,
  tick: {
    current: number;
    panicUntil: number | null;
    samples: readonly Sample[];
    now: number;
  },
): PanicState {
  if (!cfg.panicMode) return { panicUntil: null, avg: null, triggered: false };
  const { current, panicUntil, samples, now } = tick;
  const avg = averageInFlight(samples, now, cfg.panicWindowMs);
  // Knative divides by max(1, ready pods).
  const capacity = Math.max(1, current) * cfg.targetReplicaConcurrency;
  const triggered = avg !== null && avg / capacity >= PANIC_THRESHOLD;
  if (triggered) return { panicUntil: now + cfg.windowMs, avg, triggered };
  // Knative leaves only when panicTime + stable window is before now.
  if (panicUntil !== null && now > panicUntil) {
    return { panicUntil: null, avg, triggered };
  }
  return { panicUntil, avg, triggered };
}
