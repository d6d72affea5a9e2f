import assert from "node:assert/strict";
import {
  decide,
  initialState,
  type Sample,
  type ScalerState,
} from "./decide.ts";
import { BASE, type Case, flat, NOW, rec, runCase, S } from "./_testing.ts";

const CASES: Case[] = [
  {
    name: "holds in steady state",
    state: { current: 3 },
    samples: flat(3),
    want: { desired: 3, recommendations: [rec(0, 3)] },
  },
  {
    name: "scales up in proportion to in-flight",
    state: { current: 4 },
    samples: flat(6),
    want: { desired: 6 },
  },
  {
    name: "rounds the raw recommendation up",
    state: { current: 2 },
    samples: flat(2.5),
    want: { desired: 3 },
  },
  {
    name: "divides by targetReplicaConcurrency",
    cfg: { targetReplicaConcurrency: 4 },
    state: { current: 1 },
    samples: flat(8),
    want: { desired: 2 },
  },
  {
    name: "caps upscale at ceil(current * max_upscale_factor)",
    state: { current: 4 },
    samples: flat(20),
    want: { desired: 6 },
  },
  {
    name: "always adds one even when the upscale factor allows none",
    cfg: { maxUpscaleFactor: 1 },
    state: { current: 4 },
    samples: flat(20),
    want: { desired: 5 },
  },
  {
    name: "always adds one from zero replicas",
    state: { current: 0 },
    samples: flat(5),
    want: { desired: 1 },
  },
  {
    name: "caps downscale at ceil(current * max_downscale_factor)",
    state: { current: 8 },
    samples: flat(1),
    want: { desired: 6 },
  },
  {
    name: "always removes one even when the downscale factor allows none",
    cfg: { maxDownscaleFactor: 0.9 },
    state: { current: 3 },
    samples: flat(0),
    want: { desired: 2 },
  },
  {
    name: "keeps current within downscale_tolerance",
    state: { current: 10 },
    samples: flat(9.6),
    want: { desired: 10 },
  },
  {
    name: "keeps current within upscale_tolerance",
    state: { current: 10 },
    samples: flat(10.4),
    want: { desired: 10 },
  },
  {
    name: "scales beyond the tolerance band",
    state: { current: 10 },
    samples: flat(10.6),
    want: { desired: 11 },
  },
  {
    name: "clamps to min_replicas",
    cfg: { minReplicas: 3 },
    state: { current: 3 },
    samples: flat(0),
    want: { desired: 3 },
  },
  {
    name: "never goes below one replica when min_replicas is 0 (Cortex v0.35)",
    cfg: { minReplicas: 0 },
    state: { current: 1 },
    samples: flat(0),
    want: { desired: 1 },
  },
  {
    name: "clamps to max_replicas",
    cfg: { maxReplicas: 5 },
    state: { current: 4 },
    samples: flat(50),
    want: { desired: 5 },
  },
  {
    name: "upscale stabilisation takes the min of recent recommendations",
    state: { current: 4, recommendations: [rec(90, 1), rec(30, 5)] },
    samples: flat(6),
    want: {
      desired: 5,
      recommendations: [rec(90, 1), rec(30, 5), rec(0, 6)],
    },
  },
  {
    name: "upscale stabilisation never turns an upscale into a downscale",
    state: { current: 4, recommendations: [rec(30, 2)] },
    samples: flat(6),
    want: { desired: 4 },
  },
  {
    name: "downscale stabilisation holds while a higher rec is in the period",
    state: { current: 6, recommendations: [rec(200, 6)] },
    samples: flat(2),
    want: { desired: 6 },
  },
  {
    name: "downscale stabilisation takes the max over the period",
    state: { current: 8, recommendations: [rec(250, 4), rec(100, 7)] },
    samples: flat(0),
    want: { desired: 7 },
  },
  {
    name: "downscale stabilisation lets go once the period has passed",
    state: { current: 6, recommendations: [rec(301, 6)] },
    samples: flat(2),
    want: { desired: 5, recommendations: [rec(0, 5)] },
  },
  {
    name: "a downscale floor above current holds instead of upscaling",
    state: { current: 5, recommendations: [rec(100, 8)] },
    samples: flat(0),
    want: { desired: 5 },
  },
  {
    name: "prunes recommendations older than the longer period",
    state: {
      current: 3,
      recommendations: [rec(400, 9), rec(301, 9), rec(299, 3)],
    },
    samples: flat(3),
    want: { desired: 3, recommendations: [rec(299, 3), rec(0, 3)] },
  },
  {
    name: "replaces a recommendation made at the same instant",
    state: { current: 3, recommendations: [rec(0, 9)] },
    samples: flat(3),
    want: { desired: 3, recommendations: [rec(0, 3)] },
  },
  {
    name: "averages only samples within (now - window, now]",
    state: { current: 2 },
    samples: [
      { at: NOW - 61 * S, inFlight: 100 },
      { at: NOW - 60 * S, inFlight: 100 },
      { at: NOW + S, inFlight: 100 },
      ...flat(2, 30),
    ],
    want: { desired: 2 },
  },
  {
    name: "does not upscale before upscale_stabilization_period since start",
    state: { current: 2, startedAt: NOW - 30 * S },
    samples: flat(6),
    want: { desired: 2, recommendations: [rec(0, 3)] },
  },
  {
    name:
      "does not downscale before downscale_stabilization_period since start",
    state: { current: 4, startedAt: NOW - 200 * S },
    samples: flat(0),
    want: { desired: 4 },
  },
  {
    name: "the first tick starts the clock",
    state: { current: 2, startedAt: null },
    samples: flat(6),
    want: { desired: 2, startedAt: NOW },
  },
  {
    name: "keeps current without samples and records nothing",
    state: { current: 3, recommendations: [rec(10, 4)] },
    samples: [{ at: NOW - 60 * S, inFlight: 50 }],
    want: { desired: 3, recommendations: [rec(10, 4)], startedAt: 0 },
  },
  {
    name: "without samples the first tick still starts the clock",
    state: { current: 3, startedAt: null },
    samples: [],
    want: { desired: 3, startedAt: NOW, panicking: false },
  },
];

Deno.test("decide() follows the Cortex rules", async (t) => {
  for (const c of CASES) await t.step(c.name, () => runCase(c));
});

Deno.test("decide() explains the rule that applied", () => {
  const d = decide(BASE, { ...initialState(4), startedAt: 0 }, flat(20), NOW);
  assert.equal(d.raw, 20);
  assert.equal(d.avgInFlight, 20);
  assert.match(d.reason, /^scale up 4 -> 6: avg in-flight 20 \/ target 1 = 20/);
  assert.match(d.reason, /max_upscale_factor ceiling 6/);

  const none = decide(BASE, initialState(2), [], NOW);
  assert.equal(none.raw, null);
  assert.equal(none.reason, "hold 2: no samples");
});

Deno.test("decide() does not mutate its inputs", () => {
  const state: ScalerState = {
    ...initialState(6),
    startedAt: 0,
    recommendations: Object.freeze([rec(10, 6)]),
  };
  const samples = Object.freeze(flat(1));
  const before = structuredClone(state);
  decide(BASE, Object.freeze(state), samples, NOW);
  assert.deepEqual(state, before);
});

Deno.test("decide() replays a load spike over virtual time", () => {
  // 1 replica; 6 in flight for 2 minutes, then idle. Ticks every 10 s.
  const cfg = { ...BASE, upscaleStabilizationPeriodMs: 0 };
  let state: ScalerState = initialState(1);
  const samples: Sample[] = [];
  const changes: [number, number][] = [];
  for (let t = 1; t <= 2000; t++) {
    samples.push({ at: t * S, inFlight: t <= 120 ? 6 : 0 });
    if (t % 10 !== 0) continue;
    const d = decide(cfg, state, samples, t * S);
    if (d.desired !== state.current) changes.push([t, d.desired]);
    state = d.state;
  }
  // Up by x1.5 (at least +1) per tick. Down only once the downscale period
  // has passed since the last higher recommendation; as in Cortex the
  // factor-capped recommendation is what gets recorded, so each step down
  // waits a full period after the previous one.
  assert.deepEqual(changes, [
    [10, 2],
    [20, 3],
    [30, 5],
    [40, 6],
    [430, 5],
    [740, 4],
    [1050, 3],
    [1360, 2],
    [1670, 1],
  ]);
});
