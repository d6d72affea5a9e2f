/**
 * Server-side batching (`handler.server_side_batching`): groups single
 * requests into calls of the handler with arrays, and hands each request its
 * own result. Pure: no I/O, time through an injectable clock, so its
 * decisions are unit-tested in virtual time (batcher_test.ts).
 *
 * - `fixed` (Cortex's semantics): a batch runs when `max_batch_size`
 *   requests wait, or `batch_interval` after the first one arrived.
 * - `adaptive`: batch cost is fitted as `a*n + b` from recent batches; the
 *   batcher waits for one more request only while that lowers the expected
 *   latency of the waiting ones (and the oldest stays within
 *   `target_latency`, else `max_latency`).
 *
 * At most `max_concurrent_batches` run at once; requests that arrive
 * meanwhile wait for the next one. With `max_latency`, a request still
 * waiting after that long is refused (503) rather than held.
 *
 * @module
 */

import { HttpError } from "../errors/http_error.ts";

/** Time for the batcher: milliseconds, and one-shot timers. */
export interface BatchClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** The process's clock. */
export const realClock: BatchClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as number),
};

/** What one request gets back: its result and the size of its batch. */
export interface BatchOutcome {
  value: unknown;
  size: number;
}

/** The batching settings (src/config/resolved_config.ts BatchingConfig). */
export interface BatchSettings {
  mode: "fixed" | "adaptive";
  maxBatchSize: number;
  /** Fixed mode: how long the first request of a batch may wait. */
  batchIntervalMs: number;
  /** Never hold a request longer than this (503 past it); null: no bound. */
  maxLatencyMs: number | null;
  /** Adaptive mode: the latency to aim for (default max_latency). */
  targetLatencyMs: number | null;
  maxConcurrentBatches: number;
}

/** A batcher's settings and hooks. */
export interface BatcherOptions<I> extends BatchSettings {
  /** Calls the handler with a batch; returns (or resolves to) an array. */
  run(payloads: unknown[], infos: I[]): unknown;
  /** Names the method in messages, e.g. `handlePost of API "iris"`. */
  describe: string;
  clock?: BatchClock;
  /** Makes the error of a refused (503) or failed (500) request. */
  error?(status: 500 | 503, message: string): Error;
  /** A batch started: its size and how long each of its requests waited. */
  onBatch?(size: number, waitsMs: number[]): void;
  /** Requests refused after waiting `max_latency`. */
  onShed?(infos: I[], waitedMs: number): void;
}

/** A linear cost model, in milliseconds. */
export interface CostModel {
  a: number;
  b: number;
}

const enum State {
  Waiting,
  Running,
  Done,
}

interface Item<I> {
  payload: unknown;
  info: I;
  arrived: number;
  state: State;
  resolve(outcome: BatchOutcome): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

/** How many recent batches the cost model is fitted on. */
const SAMPLES = 32;
/** Weight of the newest gap in the arrival gap average. */
const GAP_WEIGHT = 0.2;

function defaultError(status: 500 | 503, message: string): Error {
  return new HttpError(
    status,
    message,
    status === 503 ? { headers: { "retry-after": "1" } } : {},
  );
}

/**
 * Least squares fit of `ms = a*n + b` with a, b >= 0; null without samples.
 * With one batch size only, the slope is unknown and taken as 0.
 */
export function fitCost(
  samples: ReadonlyArray<{ n: number; ms: number }>,
): CostModel | null {
  if (samples.length === 0) return null;
  let sn = 0, st = 0;
  for (const s of samples) {
    sn += s.n;
    st += s.ms;
  }
  const mn = sn / samples.length, mt = st / samples.length;
  let vnn = 0, vnt = 0, snn = 0, snt = 0;
  for (const s of samples) {
    vnn += (s.n - mn) ** 2;
    vnt += (s.n - mn) * (s.ms - mt);
    snn += s.n * s.n;
    snt += s.n * s.ms;
  }
  if (vnn === 0) return { a: 0, b: Math.max(0, mt) };
  const a = vnt / vnn;
  const b = mt - a * mn;
  if (a < 0) return { a: 0, b: Math.max(0, mt) };
  if (b < 0) return { a: Math.max(0, snt / snn), b: 0 };
  return { a, b };
}

/** Groups requests into batches; one per batched method of a replica. */
export class Batcher<I> {
  readonly #o: BatcherOptions<I>;
  readonly #clock: BatchClock;
  readonly #error: (status: 500 | 503, message: string) => Error;
  readonly #queue: Item<I>[] = [];
  #running = 0;
  /** Predicted end times of running batches (adaptive mode). */
  readonly #ends = new Set<number>();
  #timer: unknown = null;
  readonly #samples: Array<{ n: number; ms: number }> = [];
  #lastArrival: number | null = null;
  #gap: number | null = null;

  constructor(options: BatcherOptions<I>) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
    this.#error = options.error ?? defaultError;
  }

  /** Requests waiting for a batch. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Batches running now. */
  get running(): number {
    return this.#running;
  }

  /** The current cost model (adaptive mode), for tests and logs. */
  get model(): CostModel | null {
    return fitCost(this.#samples);
  }

  /**
   * Adds a request to the next batch. Resolves with its result, or rejects
   * with its per-item error, the batch's error, or the signal's reason when
   * it aborts first (while waiting, it then leaves the batch).
   */
  submit(
    payload: unknown,
    info: I,
    signal?: AbortSignal,
  ): Promise<BatchOutcome> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.#clock.now();
    if (this.#lastArrival !== null) {
      const gap = now - this.#lastArrival;
      this.#gap = this.#gap === null
        ? gap
        : this.#gap * (1 - GAP_WEIGHT) + gap * GAP_WEIGHT;
    }
    this.#lastArrival = now;
    const { promise, resolve, reject } = Promise.withResolvers<
      BatchOutcome
    >();
    const item: Item<I> = {
      payload,
      info,
      arrived: now,
      state: State.Waiting,
      resolve,
      reject,
      signal,
      onAbort: null,
    };
    if (signal) {
      item.onAbort = () => this.#abort(item);
      signal.addEventListener("abort", item.onAbort, { once: true });
    }
    this.#queue.push(item);
    this.#pump();
    return promise;
  }

  #abort(item: Item<I>): void {
    if (item.state === State.Done) return;
    if (item.state === State.Waiting) {
      const i = this.#queue.indexOf(item);
      if (i !== -1) this.#queue.splice(i, 1);
    }
    this.#settle(item, false, item.signal!.reason);
    this.#pump();
  }

  #settle(item: Item<I>, ok: boolean, value: unknown): void {
    if (item.state === State.Done) return;
    item.state = State.Done;
    if (item.onAbort) item.signal!.removeEventListener("abort", item.onAbort);
    if (ok) item.resolve(value as BatchOutcome);
    else item.reject(value);
  }

  /** Starts what can start now and sets the timer for the next decision. */
  #pump(): void {
    if (this.#timer !== null) {
      this.#clock.clearTimer(this.#timer);
      this.#timer = null;
    }
    const now = this.#clock.now();
    this.#shed(now);
    while (
      this.#queue.length > 0 && this.#running < this.#o.maxConcurrentBatches
    ) {
      const wait = this.#waitMs(now);
      if (wait > 0) {
        this.#arm(wait);
        return;
      }
      this.#start(this.#queue.splice(0, this.#o.maxBatchSize), now);
    }
    const max = this.#o.maxLatencyMs;
    if (this.#queue.length > 0 && max !== null) {
      // Every batch slot is busy: refuse the oldest when it has waited
      // max_latency, unless a batch ends first.
      this.#arm(this.#queue[0]!.arrived + max - now);
    }
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = null;
      this.#pump();
    }, Math.max(0, Math.ceil(ms)));
  }

  /** Refuses the requests that waited max_latency or more. */
  #shed(now: number): void {
    const max = this.#o.maxLatencyMs;
    if (max === null) return;
    let k = 0;
    while (k < this.#queue.length && now - this.#queue[k]!.arrived >= max) k++;
    if (k === 0) return;
    const shed = this.#queue.splice(0, k);
    const waited = now - shed[0]!.arrived;
    const error = this.#error(
      503,
      `${this.#o.describe}: the request waited ${
        Math.round(waited)
      } ms for a batch, the limit is ${max} ms (server_side_batching.max_latency); retry later`,
    );
    for (const item of shed) this.#settle(item, false, error);
    this.#o.onShed?.(shed.map((item) => item.info), waited);
  }

  /** How long to wait before starting a batch with what waits now; <= 0: now. */
  #waitMs(now: number): number {
    const o = this.#o;
    const n = this.#queue.length;
    if (n >= o.maxBatchSize) return 0;
    const oldest = this.#queue[0]!.arrived;
    if (o.mode === "fixed") return oldest + o.batchIntervalMs - now;
    return this.#adaptiveWait(now, n, oldest);
  }

  /**
   * Adaptive mode: wait for one more request only if that lowers the total
   * expected latency. Waiting costs each of the `n` waiting requests the
   * expected gap to the next arrival plus `a` (a longer batch); not waiting
   * costs the next request the time until a batch slot frees. Never past
   * the point where the oldest would miss its latency bound.
   */
  #adaptiveWait(now: number, n: number, oldest: number): number {
    const o = this.#o;
    const model = fitCost(this.#samples);
    if (model === null || this.#gap === null) return 0;
    const cost = (k: number) => model.a * k + model.b;
    // Time since the last arrival counts: a quiet spell means a lower rate.
    const gap = Math.max(this.#gap, now - (this.#lastArrival ?? now));
    const bound = o.targetLatencyMs ?? o.maxLatencyMs ?? Infinity;
    const latestStart = oldest + bound - cost(n + 1);
    if (now + gap > latestStart) return 0;
    // When the next request arrives, does it find a free batch slot?
    let freeAt = now + gap;
    if (this.#running + 1 >= o.maxConcurrentBatches) {
      let earliest = now + cost(n);
      for (const end of this.#ends) earliest = Math.min(earliest, end);
      freeAt = Math.max(freeAt, earliest);
    }
    const blocked = freeAt - (now + gap);
    if (n * (gap + 2 * model.a) >= blocked) return 0;
    return Math.min(2 * gap, latestStart - now);
  }

  #start(items: Item<I>[], now: number): void {
    this.#running++;
    const size = items.length;
    for (const item of items) item.state = State.Running;
    this.#o.onBatch?.(size, items.map((item) => now - item.arrived));
    const model = this.#o.mode === "adaptive" ? fitCost(this.#samples) : null;
    const end = model ? now + model.a * size + model.b : now;
    this.#ends.add(end);
    let result: unknown;
    try {
      result = this.#o.run(
        items.map((item) => item.payload),
        items.map((item) => item.info),
      );
    } catch (error) {
      result = Promise.reject(error);
    }
    const done = () => {
      this.#ends.delete(end);
      this.#running--;
      this.#samples.push({ n: size, ms: this.#clock.now() - now });
      if (this.#samples.length > SAMPLES) this.#samples.shift();
      this.#pump();
    };
    Promise.resolve(result).then(
      (values) => {
        done();
        this.#distribute(items, values);
      },
      (error) => {
        done();
        for (const item of items) this.#settle(item, false, error);
      },
    );
  }

  #distribute(items: Item<I>[], values: unknown): void {
    const size = items.length;
    if (!Array.isArray(values) || values.length !== size) {
      const got = Array.isArray(values)
        ? `an array of ${values.length}`
        : values === null
        ? "null"
        : typeof values;
      const error = this.#error(
        500,
        `${this.#o.describe} returned ${got} for a batch of ${size} requests: with server_side_batching it must return an array of ${size} results, one per request, in order`,
      );
      for (const item of items) this.#settle(item, false, error);
      return;
    }
    items.forEach((item, i) => {
      const value = values[i];
      if (value instanceof Error) this.#settle(item, false, value);
      else this.#settle(item, true, { value, size });
    });
  }
}
