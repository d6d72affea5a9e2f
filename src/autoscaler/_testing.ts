/**
 * Fixtures shared by the autoscaler tests: Cortex's default config, sample
 * generators around a fixed `NOW`, and the table-case runner for `decide()`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AutoscalingConfig } from "../config/resolved_config.ts";
import {
  decide,
  initialState,
  type Recommendation,
  type Sample,
  type ScalerState,
} from "./decide.ts";

/** One second in ms. */
export const S = 1_000;
/** The virtual time every table case decides at. */
export const NOW = 1_000 * S;

/** Cortex's defaults, with target 1 and panic off. */
export const BASE: AutoscalingConfig = {
  minReplicas: 1,
  maxReplicas: 100,
  initReplicas: 1,
  maxReplicaConcurrency: 1024,
  targetReplicaConcurrency: 1,
  windowMs: 60 * S,
  downscaleStabilizationPeriodMs: 300 * S,
  upscaleStabilizationPeriodMs: 60 * S,
  maxDownscaleFactor: 0.75,
  maxUpscaleFactor: 1.5,
  downscaleTolerance: 0.05,
  upscaleTolerance: 0.05,
  tickMs: 10 * S,
  panicMode: false,
  panicWindowMs: 6 * S,
};

/** One sample a second over the 60 s before `NOW`, all equal to `inFlight`. */
export function flat(inFlight: number, seconds = 60): Sample[] {
  return Array.from({ length: seconds }, (_, i) => ({
    at: NOW - i * S,
    inFlight,
  }));
}

/** `quiet` for the first 54 s of the window, `burst` in the last 6 s. */
export function burst(quiet: number, burst: number): Sample[] {
  return Array.from({ length: 60 }, (_, i) => ({
    at: NOW - i * S,
    inFlight: i < 6 ? burst : quiet,
  }));
}

/** A recommendation made `agoSeconds` before `NOW`. */
export function rec(agoSeconds: number, replicas: number): Recommendation {
  return { at: NOW - agoSeconds * S, replicas };
}

/** One row of a `decide()` table test. */
export interface Case {
  name: string;
  cfg?: Partial<AutoscalingConfig>;
  /** `startedAt` defaults to 0, long before every period. */
  state: Partial<ScalerState> & { current: number };
  samples: Sample[];
  now?: number;
  want: {
    desired: number;
    panicking?: boolean;
    panicUntil?: number | null;
    recommendations?: Recommendation[];
    startedAt?: number | null;
  };
}

/** Runs one table case against `decide()` and checks every field it names. */
export function runCase(c: Case): void {
  const cfg = { ...BASE, ...c.cfg };
  const state: ScalerState = {
    ...initialState(c.state.current),
    startedAt: 0,
    ...c.state,
  };
  const now = c.now ?? NOW;
  const d = decide(cfg, state, c.samples, now);
  assert.equal(d.desired, c.want.desired, d.reason);
  assert.equal(d.state.current, c.want.desired);
  if (c.want.panicking !== undefined) {
    assert.equal(d.panicking, c.want.panicking, d.reason);
  }
  if (c.want.panicUntil !== undefined) {
    assert.equal(d.state.panicUntil, c.want.panicUntil);
  }
  if (c.want.recommendations !== undefined) {
    assert.deepEqual(d.state.recommendations, c.want.recommendations);
  }
  if (c.want.startedAt !== undefined) {
    assert.equal(d.state.startedAt, c.want.startedAt);
  }
}
