import assert from "node:assert/strict";
import type { AutoscalingConfig } from "../config/resolved_config.ts";
import { Autoscaler, type AutoscalerOptions, type Clock } from "./loop.ts";

/** Virtual time: timers fire only inside `advance()`, in due order. */
class FakeClock implements Clock {
  #now = 0;
  #nextId = 1;
  #timers = new Map<number, { fn: () => void; ms: number; due: number }>();

  now(): number {
    return this.#now;
  }

  setInterval(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { fn, ms, due: this.#now + ms });
    return id;
  }

  clearInterval(id: unknown): void {
    this.#timers.delete(id as number);
  }

  get pending(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: { fn: () => void; ms: number; due: number } | undefined;
      for (const t of this.#timers.values()) { // ties fire in creation order
        if (t.due <= end && (next === undefined || t.due < next.due)) next = t;
      }
      if (next === undefined) break;
      this.#now = next.due;
      next.due += next.ms;
      next.fn();
    }
    this.#now = end;
  }
}

const CFG: AutoscalingConfig = {
  minReplicas: 1,
  maxReplicas: 10,
  initReplicas: 1,
  maxReplicaConcurrency: 1024,
  targetReplicaConcurrency: 1,
  windowMs: 10_000,
  downscaleStabilizationPeriodMs: 30_000,
  upscaleStabilizationPeriodMs: 0,
  maxDownscaleFactor: 0.75,
  maxUpscaleFactor: 1.5,
  downscaleTolerance: 0.05,
  upscaleTolerance: 0.05,
  tickMs: 10_000,
  panicMode: false,
  panicWindowMs: 2_000,
};

/** A pool whose replica count follows `setReplicas` and whose load is settable. */
function setup(over: Partial<AutoscalerOptions> = {}) {
  const clock = new FakeClock();
  const pool = { inFlight: 0, replicas: 1, calls: [] as [number, string][] };
  const errors: unknown[] = [];
  const scaler = new Autoscaler({
    cfg: CFG,
    clock,
    getInFlight: () => pool.inFlight,
    getReplicas: () => pool.replicas,
    setReplicas: (n, reason) => {
      pool.calls.push([n, reason]);
      pool.replicas = n;
    },
    onError: (e) => errors.push(e),
    ...over,
  });
  return { clock, pool, scaler, errors };
}

Deno.test("Autoscaler scales up on each tick as in-flight grows", () => {
  const { clock, pool, scaler } = setup();
  pool.inFlight = 4;
  scaler.start();
  clock.advance(9_999);
  assert.equal(pool.calls.length, 0);
  clock.advance(1);
  assert.deepEqual(pool.calls.map(([n]) => n), [2]);
  assert.match(pool.calls[0]?.[1] ?? "", /^scale up 1 -> 2/);
  clock.advance(20_000);
  assert.deepEqual(pool.calls.map(([n]) => n), [2, 3, 4]);
  clock.advance(50_000);
  assert.equal(pool.calls.length, 3);
  assert.deepEqual(scaler.decisions, { up: 3, down: 0, hold: 5 });
  assert.equal(scaler.lastDecision?.desired, 4);
  assert.equal(scaler.lastDecision?.avgInFlight, 4);
  scaler.stop();
});

Deno.test("Autoscaler scales down only after the stabilisation period", () => {
  const { clock, pool, scaler } = setup();
  pool.replicas = 4;
  pool.inFlight = 4;
  scaler.start();
  clock.advance(40_000); // past the start-up hold, history at 4
  pool.inFlight = 0;
  clock.advance(30_000); // window empties by t=50 s; 4 is still within 30 s
  assert.equal(pool.calls.length, 0);
  clock.advance(20_000);
  assert.deepEqual(pool.calls.map(([n]) => n), [3]);
  assert.equal(scaler.decisions.down, 1);
  scaler.stop();
});

Deno.test("Autoscaler holds without samples", () => {
  const { clock, pool, scaler } = setup({ sampleMs: 60_000 });
  pool.inFlight = 9;
  scaler.start();
  clock.advance(10_000);
  assert.equal(pool.calls.length, 0);
  assert.equal(scaler.lastDecision?.reason, "hold 1: no samples");
  assert.deepEqual(scaler.decisions, { up: 0, down: 0, hold: 1 });
  scaler.stop();
});

Deno.test("Autoscaler reads the current count from getReplicas() each tick", () => {
  const { clock, pool, scaler } = setup();
  pool.inFlight = 3;
  scaler.start();
  clock.advance(10_000);
  assert.deepEqual(pool.calls.map(([n]) => n), [2]);
  pool.replicas = 3; // changed elsewhere
  clock.advance(10_000);
  assert.deepEqual(pool.calls.map(([n]) => n), [2]);
  assert.equal(scaler.lastDecision?.state.current, 3);
  scaler.stop();
});

Deno.test("Autoscaler.stop() clears both timers and start() is idempotent", () => {
  const { clock, pool, scaler } = setup();
  pool.inFlight = 5;
  scaler.start();
  scaler.start();
  assert.equal(clock.pending, 2);
  assert.equal(scaler.running, true);
  scaler.stop();
  assert.equal(clock.pending, 0);
  assert.equal(scaler.running, false);
  clock.advance(100_000);
  assert.equal(pool.calls.length, 0);
  assert.equal(scaler.lastDecision, null);
});

Deno.test("Autoscaler.start() after stop() starts with fresh history", () => {
  const { clock, pool, scaler } = setup({
    cfg: { ...CFG, upscaleStabilizationPeriodMs: 10_000 },
  });
  pool.inFlight = 5;
  scaler.start();
  clock.advance(20_000); // start-up hold at t=10 s, up at t=20 s
  assert.deepEqual(pool.calls.map(([n]) => n), [2]);
  scaler.stop();
  scaler.start();
  clock.advance(10_000); // a new start-up hold
  assert.deepEqual(pool.calls.map(([n]) => n), [2]);
  assert.match(scaler.lastDecision?.reason ?? "", /since start not elapsed/);
  clock.advance(10_000);
  assert.deepEqual(pool.calls.map(([n]) => n), [2, 3]);
  scaler.stop();
});

Deno.test("Autoscaler.updateConfig() applies new limits and a new tick", () => {
  const { clock, pool, scaler } = setup();
  pool.replicas = 4;
  pool.inFlight = 4;
  scaler.start();
  clock.advance(40_000); // ticks at 10..40 s record 4
  scaler.updateConfig({ ...CFG, maxReplicas: 2, tickMs: 5_000 });
  assert.equal(scaler.cfg.maxReplicas, 2);
  assert.equal(clock.pending, 2);
  // max_replicas clamps the recommendation to 2 at once, but downscale
  // stabilisation holds 4 until the t=40 s recommendation is 30 s old
  clock.advance(34_999);
  assert.equal(pool.calls.length, 0);
  clock.advance(1);
  assert.deepEqual(pool.calls.map(([n]) => n), [2]);
  assert.deepEqual(scaler.decisions, { up: 0, down: 1, hold: 10 });
  scaler.stop();
});

Deno.test("Autoscaler.updateConfig() keeps samples when the window grows", () => {
  const { clock, pool, scaler } = setup();
  pool.inFlight = 2;
  pool.replicas = 2;
  scaler.start();
  clock.advance(9_000);
  scaler.updateConfig({ ...CFG, windowMs: 60_000 });
  pool.inFlight = 0;
  clock.advance(1_000);
  // nine kept samples of 2 and one of 0; a fresh window would hold only the 0
  assert.equal(scaler.lastDecision?.avgInFlight, 1.8);
  assert.equal(pool.calls.length, 0);
  scaler.stop();
});

Deno.test("Autoscaler panics within one tick on a burst", () => {
  const { clock, pool, scaler } = setup({ cfg: { ...CFG, panicMode: true } });
  scaler.start();
  clock.advance(8_000);
  pool.inFlight = 8;
  clock.advance(2_000);
  assert.deepEqual(pool.calls.map(([n]) => n), [8]);
  assert.equal(scaler.lastDecision?.panicking, true);
  scaler.stop();
});

Deno.test("Autoscaler reports callback errors to onError and keeps going", async () => {
  let fail = true;
  const { clock, pool, scaler, errors } = setup({
    setReplicas: (n) => {
      if (fail) throw new Error("Cannot resize pool");
      pool.replicas = n;
    },
  });
  pool.inFlight = 4;
  scaler.start();
  clock.advance(10_000);
  assert.equal(errors.length, 1);
  fail = false;
  clock.advance(10_000);
  assert.equal(pool.replicas, 2);

  const rejected = setup({
    setReplicas: () => Promise.reject(new Error("Cannot resize pool")),
  });
  rejected.pool.inFlight = 4;
  rejected.scaler.start();
  rejected.clock.advance(10_000);
  await Promise.resolve();
  assert.equal(rejected.errors.length, 1);
  rejected.scaler.stop();
  scaler.stop();
});

Deno.test("Autoscaler rejects a non-positive tick or sample interval", () => {
  const base = {
    getInFlight: () => 0,
    getReplicas: () => 1,
    setReplicas: () => {},
  };
  assert.throws(
    () => new Autoscaler({ ...base, cfg: { ...CFG, tickMs: 0 } }),
    RangeError,
  );
  assert.throws(
    () => new Autoscaler({ ...base, cfg: CFG, sampleMs: -1 }),
    RangeError,
  );
  const scaler = new Autoscaler({ ...base, cfg: CFG, clock: new FakeClock() });
  assert.throws(() => scaler.updateConfig({ ...CFG, tickMs: NaN }), RangeError);
});

Deno.test("Autoscaler at the local cap: scales to it, reports the cap once, does not ask again every tick", () => {
  const capped: [number, number, string][] = [];
  const calls: number[] = [];
  const pool = { replicas: 3, inFlight: 20 }; // wants many more than 4
  const { clock, scaler } = setup({
    maxReplicas: 4,
    onCapped: (wanted, cap, reason) => capped.push([wanted, cap, reason]),
    getInFlight: () => pool.inFlight,
    getReplicas: () => pool.replicas,
    // Like ReplicaPool, which never goes past --max-replicas-per-api.
    setReplicas: (n) => {
      calls.push(n);
      pool.replicas = Math.min(n, 4);
    },
  });
  scaler.start();
  clock.advance(10_000);
  assert.deepEqual(calls, [4]);
  assert.equal(capped.length, 1);
  const [wanted, cap, reason] = capped[0]!;
  assert.ok(wanted > 4, `wanted ${wanted}`);
  assert.equal(cap, 4);
  assert.match(reason, /in-flight/);
  clock.advance(10 * 10_000);
  assert.deepEqual(calls, [4], "no scaling call on each tick at the cap");
  assert.equal(capped.length, 1, "the cap is reported once");
  assert.equal(scaler.decisions.hold, 10);
  // Below the cap again, then over it again: reported anew.
  pool.inFlight = 2;
  clock.advance(60_000);
  assert.ok(pool.replicas < 4, `scaled down to ${pool.replicas}`);
  pool.inFlight = 20;
  clock.advance(30_000);
  assert.equal(pool.replicas, 4);
  assert.equal(capped.length, 2);
});
