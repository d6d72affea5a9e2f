/**
 * The scaling decision: a pure function of the config, the scaler's state,
 * the in-flight samples and the current time (knative `Scale(now)` style).
 *
 * The stable path follows Cortex v0.35 (`autoscaler.go`, the realtime API
 * autoscaler) step by step. Panic mode is ours, after Knative's KPA.
 *
 * @module
 */

import type { AutoscalingConfig } from "../config/resolved_config.ts";
import { panicStep } from "./panic.ts";
import { averageInFlight, type Sample } from "./sampler.ts";

export type { Sample };

/** A recommendation recorded at `at` ms, kept for stabilisation. */
export interface Recommendation {
  at: number;
  replicas: number;
}

/** What `decide()` carries from one tick to the next. */
export interface ScalerState {
  /** Replicas currently requested. */
  current: number;
  /** Time of the first tick (Cortex `startTime`), null before it. */
  startedAt: number | null;
  /** Recommendations of the last max(stabilisation periods), oldest first. */
  recommendations: readonly Recommendation[];
  /** Panic lasts until this time (inclusive), null when not panicking. */
  panicUntil: number | null;
}

/** The outcome of one tick. */
export interface Decision {
  /** Replicas to request; equal to `state.current` when holding. */
  desired: number;
  /** Average in-flight over the window divided by the target, null without samples. */
  raw: number | null;
  /** Average in-flight over `windowMs`, null without samples. */
  avgInFlight: number | null;
  /** The state to pass to the next call. */
  state: ScalerState;
  /** Human-readable explanation, for logs. */
  reason: string;
  /** Whether panic mode is active after this tick. */
  panicking: boolean;
}

/**
 * The state before the first tick.
 *
 * @param current The replicas running now.
 * @returns A state with no history and no panic.
 */
export function initialState(current: number): ScalerState {
  return { current, startedAt: null, recommendations: [], panicUntil: null };
}

/**
 * Decides how many replicas to request, following Cortex's autoscaler
 * (tolerances, scale factors, min/max, then stabilisation over recorded
 * recommendations) plus optional Knative-style panic mode.
 *
 * @param cfg The resolved autoscaling config.
 * @param state The state returned by the previous call (or `initialState`).
 * @param samples Recent samples; only those in the windows are used.
 * @param now The current time in ms.
 * @returns The desired replicas, the next state and the reason.
 *
 * @example
 * ```ts
 * import { decide, initialState } from "./decide.ts";
 * import type { AutoscalingConfig } from "../config/resolved_config.ts";
 *
 * const cfg: AutoscalingConfig = {
 *   minReplicas: 1, maxReplicas: 10, initReplicas: 1,
 *   maxReplicaConcurrency: 1024, targetReplicaConcurrency: 1,
 *   windowMs: 60_000, downscaleStabilizationPeriodMs: 300_000,
 *   upscaleStabilizationPeriodMs: 0, maxDownscaleFactor: 0.75,
 *   maxUpscaleFactor: 1.5, downscaleTolerance: 0.05, upscaleTolerance: 0.05,
 *   tickMs: 10_000, panicMode: false, panicWindowMs: 6_000,
 * };
 * const d = decide(cfg, initialState(2), [{ at: 1_000, inFlight: 3 }], 1_000);
 * if (d.desired !== 3) throw new Error("Expected 3 replicas");
 * ```
 */
export function decide(
  cfg: AutoscalingConfig,
  state: ScalerState,
  samples: readonly Sample[],
  now: number,
): Decision {
  const current = state.current;
  // Cortex sets startTime on the first tick, before it reads metrics.
  const startedAt = state.startedAt ?? now;
  const avg = averageInFlight(samples, now, cfg.windowMs);
  if (avg === null) {
    // Cortex: "metrics not available yet" returns without recording anything.
    const next = { ...state, startedAt };
    return {
      desired: current,
      raw: null,
      avgInFlight: null,
      state: next,
      reason: `hold ${current}: no samples`,
      panicking: next.panicUntil !== null,
    };
  }

  const target = cfg.targetReplicaConcurrency;
  const raw = avg / target;
  const notes: string[] = [];
  let recommendation = recommend({ cfg, current, notes }, raw);

  const panic = panicStep(cfg, {
    current,
    panicUntil: state.panicUntil,
    samples,
    now,
  });
  const panicking = panic.panicUntil !== null;
  if (panicking) {
    // Knative KPA: provision for the larger of the stable and panic loads
    // and never scale down while panicking. Ours: no max_upscale_factor cap
    // here (Knative's max-scale-up-rate defaults to 1000, effectively none),
    // else panic could add no faster than the stable path.
    const panicRaw = (panic.avg ?? 0) / target;
    const wanted = Math.max(current, Math.ceil(panicRaw), Math.ceil(raw));
    recommendation = clamp(
      wanted,
      Math.max(1, cfg.minReplicas),
      cfg.maxReplicas,
    );
    notes.push(
      panic.triggered
        ? `panic: ${fmt(panicRaw)} replicas of load over ${cfg.panicWindowMs}ms`
        : `panic held until ${panic.panicUntil}`,
    );
  }

  // Cortex records the recommendation before applying the history-based
  // rules. Ours: while panicking the panic count is recorded instead, so the
  // downscale stabilisation afterwards holds what panic provisioned.
  const period = Math.max(
    cfg.downscaleStabilizationPeriodMs,
    cfg.upscaleStabilizationPeriodMs,
  );
  const recommendations = [
    ...state.recommendations.filter((r) => r.at !== now),
    { at: now, replicas: recommendation },
  ].filter((r) => now - r.at <= period); // garbage collection only

  const desired = panicking
    ? recommendation
    : stabilize({ cfg, current, now, notes }, recommendation, {
      recommendations,
      startedAt,
    });

  const verb = desired > current
    ? `scale up ${current} -> ${desired}`
    : desired < current
    ? `scale down ${current} -> ${desired}`
    : `hold ${current}`;
  const head = `${verb}: avg in-flight ${fmt(avg)} / target ${target} = ${
    fmt(raw)
  }`;
  return {
    desired,
    raw,
    avgInFlight: avg,
    state: {
      current: desired,
      startedAt,
      recommendations,
      panicUntil: panic.panicUntil,
    },
    reason: notes.length === 0 ? head : `${head}; ${notes.join("; ")}`,
    panicking,
  };
}

/** What the helper steps share. */
interface Tick {
  cfg: AutoscalingConfig;
  current: number;
  now: number;
  /** Rules that changed the count, for the reason. */
  notes: string[];
}

/** Cortex's steps that do not look at history, in Cortex's order. */
function recommend(
  { cfg, current, notes }: Omit<Tick, "now">,
  raw: number,
): number {
  let rec = Math.ceil(raw);
  // Strict inequalities, as in Cortex: raw exactly at a bound is not tolerated.
  if (raw < current && raw > current * (1 - cfg.downscaleTolerance)) {
    rec = current;
    notes.push("within downscale_tolerance");
  }
  if (raw > current && raw < current * (1 + cfg.upscaleTolerance)) {
    rec = current;
    notes.push("within upscale_tolerance");
  }
  // Cortex uses ceil (not floor) of current * max_downscale_factor, and
  // min(current - 1, ...) so one replica can always be removed.
  const downFloor = Math.min(
    current - 1,
    Math.ceil(current * cfg.maxDownscaleFactor),
  );
  if (rec < downFloor) {
    rec = downFloor;
    notes.push(`max_downscale_factor floor ${downFloor}`);
  }
  // max(current + 1, ...) so one replica can always be added.
  const upCeil = Math.max(
    current + 1,
    Math.ceil(current * cfg.maxUpscaleFactor),
  );
  if (rec > upCeil) {
    rec = upCeil;
    notes.push(`max_upscale_factor ceiling ${upCeil}`);
  }
  // Cortex v0.35 never recommends fewer than one replica, before min_replicas.
  if (rec < 1) rec = 1;
  if (rec < cfg.minReplicas) {
    rec = cfg.minReplicas;
    notes.push(`min_replicas ${cfg.minReplicas}`);
  }
  if (rec > cfg.maxReplicas) {
    rec = cfg.maxReplicas;
    notes.push(`max_replicas ${cfg.maxReplicas}`);
  }
  return rec;
}

/** Cortex's history-based steps: downscale, then upscale stabilisation. */
function stabilize(
  { cfg, current, now, notes }: Tick,
  recommendation: number,
  history: Pick<ScalerState, "recommendations" | "startedAt">,
): number {
  const recs = history.recommendations;
  const sinceStart = now - (history.startedAt ?? now);
  let request = recommendation;
  if (request < current) {
    const period = cfg.downscaleStabilizationPeriodMs;
    // Clamped to current as in later Cortex (pkg/autoscaler): v0.35 let a
    // floor above current turn a downscale into an upscale, which the upscale
    // step below could then cut to under the floor, bypassing downscale
    // stabilisation. Both clamps only ever hold at current.
    const floor = Math.min(extreme(recs, now, period, "max"), current);
    if (sinceStart < period) {
      request = current;
      notes.push("downscale_stabilization_period since start not elapsed");
    } else if (request < floor) {
      request = floor;
      notes.push(`downscale_stabilization floor ${floor}`);
    }
  }
  if (request > current) {
    const period = cfg.upscaleStabilizationPeriodMs;
    const ceil = Math.max(extreme(recs, now, period, "min"), current);
    if (sinceStart < period) {
      request = current;
      notes.push("upscale_stabilization_period since start not elapsed");
    } else if (request > ceil) {
      request = ceil;
      notes.push(`upscale_stabilization ceiling ${ceil}`);
    }
  }
  return request;
}

/** Max or min of the recommendations with `now - at <= period` (Cortex `maxSince`/`minSince`). */
function extreme(
  recs: readonly Recommendation[],
  now: number,
  period: number,
  pick: "max" | "min",
): number {
  let out = pick === "max" ? -Infinity : Infinity;
  for (const r of recs) {
    if (now - r.at > period) continue;
    out = pick === "max"
      ? Math.max(out, r.replicas)
      : Math.min(out, r.replicas);
  }
  // This tick's recommendation is always in range, so `out` is finite.
  return out;
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
