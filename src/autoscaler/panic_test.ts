import assert from "node:assert/strict";
import { PANIC_THRESHOLD, panicStep } from "./panic.ts";
import {
  BASE,
  burst,
  type Case,
  flat,
  NOW,
  rec,
  runCase,
  S,
} from "./_testing.ts";

const PANIC = { panicMode: true };

const CASES: Case[] = [
  {
    name: "ignores a burst when panic mode is off",
    state: { current: 2 },
    samples: burst(0, 10),
    want: { desired: 1, panicking: false, panicUntil: null },
  },
  {
    name: "panic: enters at 2x capacity and skips factor and stabilisation",
    cfg: PANIC,
    state: { current: 2, startedAt: NOW - S, recommendations: [rec(5, 1)] },
    samples: burst(0, 10),
    want: {
      desired: 10,
      panicking: true,
      panicUntil: NOW + 60 * S,
      recommendations: [rec(5, 1), rec(0, 10)],
    },
  },
  {
    name: "panic: stays out just below the threshold",
    cfg: PANIC,
    state: { current: 5 },
    samples: burst(4.6, 9.9),
    want: { desired: 5, panicking: false, panicUntil: null },
  },
  {
    name: "panic: provisions for the stable load when it is higher",
    cfg: PANIC,
    state: { current: 1, panicUntil: NOW + 10 * S },
    samples: burst(20, 0),
    want: { desired: 18, panicking: true, panicUntil: NOW + 10 * S },
  },
  {
    name: "panic: clamps to max_replicas",
    cfg: { ...PANIC, maxReplicas: 8 },
    state: { current: 2 },
    samples: burst(0, 10),
    want: { desired: 8, panicking: true },
  },
  {
    name: "panic: holds replicas while panicking with no load",
    cfg: PANIC,
    state: { current: 10, panicUntil: NOW + 10 * S },
    samples: flat(0),
    want: { desired: 10, panicking: true, panicUntil: NOW + 10 * S },
  },
  {
    name: "panic: still panicking at panicUntil",
    cfg: PANIC,
    state: { current: 10, panicUntil: NOW },
    samples: flat(0),
    want: { desired: 10, panicking: true, panicUntil: NOW },
  },
  {
    name: "panic: a new burst extends panicUntil",
    cfg: PANIC,
    state: { current: 2, panicUntil: NOW + 5 * S },
    samples: burst(2, 8),
    want: { desired: 8, panicking: true, panicUntil: NOW + 60 * S },
  },
  {
    name: "panic: leaves after panicUntil and scales down normally",
    cfg: PANIC,
    state: { current: 10, panicUntil: NOW - 1 },
    samples: flat(0),
    want: { desired: 8, panicking: false, panicUntil: null },
  },
  {
    name: "panic: after leaving, downscale stabilisation holds the panic count",
    cfg: PANIC,
    state: {
      current: 10,
      panicUntil: NOW - 1,
      recommendations: [rec(10, 10)],
    },
    samples: flat(0),
    want: { desired: 10, panicking: false },
  },
  {
    name: "panic: turning panic mode off ends panic",
    state: { current: 10, panicUntil: NOW + 10 * S },
    samples: flat(0),
    want: { desired: 8, panicking: false, panicUntil: null },
  },
];

Deno.test("decide() follows the KPA panic rules", async (t) => {
  for (const c of CASES) await t.step(c.name, () => runCase(c));
});

Deno.test("panicStep() compares the panic average with current capacity", () => {
  const cfg = { ...BASE, panicMode: true, targetReplicaConcurrency: 2 };
  const at = (inFlight: number) => [{ at: NOW, inFlight }];
  const step = (current: number, inFlight: number) =>
    panicStep(cfg, {
      current,
      panicUntil: null,
      samples: at(inFlight),
      now: NOW,
    });
  // 3 replicas x 2 = capacity 6: panic from 12 in flight
  assert.equal(step(3, 6 * PANIC_THRESHOLD).triggered, true);
  assert.equal(step(3, 6 * PANIC_THRESHOLD - 0.1).triggered, false);
  // zero replicas count as one, as in Knative
  assert.equal(step(0, 4).triggered, true);
  assert.deepEqual(step(3, 12), {
    panicUntil: NOW + BASE.windowMs,
    avg: 12,
    triggered: true,
  });
});

Deno.test("panicStep() is inert when panic mode is off", () => {
  const p = panicStep(BASE, {
    current: 1,
    panicUntil: NOW + S,
    samples: flat(100),
    now: NOW,
  });
  assert.deepEqual(p, { panicUntil: null, avg: null, triggered: false });
});
