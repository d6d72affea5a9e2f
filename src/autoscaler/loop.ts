/**
 * The autoscaler loop: samples in-flight requests on one timer and applies
 * `decide()` on another (knative's multiscaler ticker). Time comes from an
 * injected clock so tests drive it with a fake one.
 *
 * @module
 */

import type { AutoscalingConfig } from "../config/resolved_config.ts";
import {
  decide,
  type Decision,
  initialState,
  type ScalerState,
} from "./decide.ts";
import { SampleWindow } from "./sampler.ts";

/** The time source and timers the loop uses. */
export interface Clock {
  /** Milliseconds, like `Date.now()`. */
  now(): number;
  /** Calls `fn` every `ms` milliseconds; returns an opaque id for `clearInterval`. */
  setInterval(fn: () => void, ms: number): unknown;
  /** Cancels a timer made by `setInterval`. */
  clearInterval(id: unknown): void;
}

/** Decisions taken so far, by direction. */
export interface DecisionCounts {
  up: number;
  down: number;
  hold: number;
}

/** What an `Autoscaler` needs from the rest of the runtime. */
export interface AutoscalerOptions {
  cfg: AutoscalingConfig;
  /** Requests running plus queued across replicas, right now. */
  getInFlight(): number;
  /** Replicas currently requested. */
  getReplicas(): number;
  /** Called when a tick wants a different count; may be async. */
  setReplicas(n: number, reason: string): void | Promise<void>;
  /**
   * The most replicas this machine runs for the API
   * (`--max-replicas-per-api`), below `cfg.maxReplicas`: decisions above it
   * scale to it, and `onCapped` reports it once instead of asking again on
   * every tick.
   */
  maxReplicas?: number;
  /**
   * Called when a decision first goes over `maxReplicas` (again after it
   * went back under): the count wanted, the cap and the decision's reason.
   */
  onCapped?(wanted: number, cap: number, reason: string): void;
  /** Defaults to the real clock, with timers that do not keep the process alive. */
  clock?: Clock;
  /** Sampling interval in ms (default 1000). */
  sampleMs?: number;
  /** Receives errors thrown or rejected by the callbacks; they are dropped without it. */
  onError?(error: unknown): void;
}

/** The real clock; its timers are unref'd so a forgotten loop cannot hold the process open. */
export const SYSTEM_CLOCK: Clock = {
  now(): number {
    return Date.now();
  },
  setInterval(fn: () => void, ms: number): unknown {
    const id = setInterval(fn, ms);
    Deno.unrefTimer(id);
    return id;
  },
  clearInterval(id: unknown): void {
    clearInterval(id as ReturnType<typeof setInterval>);
  },
};

/**
 * Samples in-flight requests every `sampleMs` and decides every `cfg.tickMs`,
 * calling `setReplicas` when the decision differs from the current count.
 *
 * @example
 * ```ts ignore
 * const scaler = new Autoscaler({
 *   cfg: api.autoscaling,
 *   getInFlight: () => pool.inFlight,
 *   getReplicas: () => pool.size,
 *   setReplicas: (n, reason) => pool.resize(n, reason),
 * });
 * scaler.start();
 * ```
 */
export class Autoscaler {
  #opts: AutoscalerOptions;
  #cfg: AutoscalingConfig;
  #clock: Clock;
  #sampleMs: number;
  #window: SampleWindow;
  #state: ScalerState | null = null;
  #last: Decision | null = null;
  #counts: DecisionCounts = { up: 0, down: 0, hold: 0 };
  /** True while decisions are over `maxReplicas` (reported once). */
  #capped = false;
  #sampleTimer: unknown = null;
  #tickTimer: unknown = null;

  /**
   * @param options The config, the callbacks and optionally a clock.
   * @throws {RangeError} When `sampleMs` or `cfg.tickMs` is not positive.
   */
  constructor(options: AutoscalerOptions) {
    this.#opts = options;
    this.#cfg = options.cfg;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#sampleMs = options.sampleMs ?? 1000;
    positive("sampleMs", this.#sampleMs);
    positive("autoscaling.tickMs", this.#cfg.tickMs);
    this.#window = new SampleWindow(this.#capacity());
  }

  /** The config in use. */
  get cfg(): AutoscalingConfig {
    return this.#cfg;
  }

  /** Whether the timers are running. */
  get running(): boolean {
    return this.#tickTimer !== null;
  }

  /** The latest decision, or null before the first tick. */
  get lastDecision(): Decision | null {
    return this.#last;
  }

  /** A copy of the decision counters by direction. */
  get decisions(): DecisionCounts {
    return { ...this.#counts };
  }

  /** Starts sampling and deciding afresh (new history); no-op when running. */
  start(): void {
    if (this.running) return;
    this.#state = null;
    this.#window = new SampleWindow(this.#capacity());
    this.#arm();
  }

  /** Stops both timers; the last decision and counters stay readable. */
  stop(): void {
    if (this.#sampleTimer !== null) {
      this.#clock.clearInterval(this.#sampleTimer);
    }
    if (this.#tickTimer !== null) this.#clock.clearInterval(this.#tickTimer);
    this.#sampleTimer = null;
    this.#tickTimer = null;
  }

  /**
   * Switches to a new config, keeping samples and history; restarts the tick
   * timer when `tickMs` changes.
   *
   * @param cfg The new resolved autoscaling config.
   * @throws {RangeError} When `cfg.tickMs` is not positive.
   */
  updateConfig(cfg: AutoscalingConfig): void {
    positive("autoscaling.tickMs", cfg.tickMs);
    const old = this.#cfg;
    this.#cfg = cfg;
    const capacity = this.#capacity();
    if (capacity !== this.#window.capacity) {
      const window = new SampleWindow(capacity);
      for (const s of this.#window.samples()) window.push(s);
      this.#window = window;
    }
    if (this.running && old.tickMs !== cfg.tickMs) {
      this.stop();
      this.#arm();
    }
  }

  #arm(): void {
    this.#sampleTimer = this.#clock.setInterval(
      () => this.#sample(),
      this.#sampleMs,
    );
    this.#tickTimer = this.#clock.setInterval(
      () => this.#tick(),
      this.#cfg.tickMs,
    );
  }

  /** Enough slots for the longer window at one sample per `sampleMs`. */
  #capacity(): number {
    const span = Math.max(this.#cfg.windowMs, this.#cfg.panicWindowMs);
    return Math.ceil(span / this.#sampleMs) + 1;
  }

  #sample(): void {
    const now = this.#clock.now();
    try {
      this.#window.push({ at: now, inFlight: this.#opts.getInFlight() });
    } catch (error) {
      this.#fail(error);
    }
    this.#window.prune(
      now - Math.max(this.#cfg.windowMs, this.#cfg.panicWindowMs),
    );
  }

  #tick(): void {
    try {
      const current = this.#opts.getReplicas();
      const state = { ...(this.#state ?? initialState(current)), current };
      const d = decide(
        this.#cfg,
        state,
        this.#window.samples(),
        this.#clock.now(),
      );
      this.#state = d.state;
      this.#last = d;
      const desired = this.#cap(d.desired, d.reason);
      if (desired > current) this.#counts.up++;
      else if (desired < current) this.#counts.down++;
      else this.#counts.hold++;
      if (desired === current) return;
      const done = this.#opts.setReplicas(desired, d.reason);
      if (done instanceof Promise) done.catch((error) => this.#fail(error));
    } catch (error) {
      this.#fail(error);
    }
  }

  /** `wanted`, at most the local cap; reports reaching the cap once. */
  #cap(wanted: number, reason: string): number {
    const cap = this.#opts.maxReplicas;
    if (cap === undefined || wanted <= cap) {
      this.#capped = false;
      return wanted;
    }
    if (!this.#capped) {
      this.#capped = true;
      this.#opts.onCapped?.(wanted, cap, reason);
    }
    return cap;
  }

  #fail(error: unknown): void {
    this.#opts.onError?.(error);
  }
}

function positive(name: string, value: number): void {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot start autoscaler with ${name} "${value}": must be a positive number of milliseconds`,
    );
  }
}
