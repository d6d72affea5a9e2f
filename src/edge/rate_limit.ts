/**
 * Token buckets for `networking.rate_limit`, held by the serving process so
 * an API's replicas share one budget. Pure apart from the clock passed in.
 *
 * @module
 */

import type { RateLimitConfig } from "../config/resolved_config.ts";

/** Buckets kept at most; full (idle) ones are dropped first. */
const MAX_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

/** One API's buckets. */
export class RateLimiter {
  readonly #rps: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(cfg: Pick<RateLimitConfig, "rps" | "burst">) {
    this.#rps = cfg.rps;
    this.#burst = cfg.burst;
  }

  /**
   * Takes one token from bucket `key` at time `now` (ms).
   *
   * @returns 0 when admitted, else the seconds until a token is available
   */
  take(key: string, now = performance.now()): number {
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#prune(now);
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(
        this.#burst,
        b.tokens + (now - b.at) / 1000 * this.#rps,
      );
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.#rps;
  }

  /** Buckets held (for tests). */
  get size(): number {
    return this.#buckets.size;
  }

  #prune(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) / 1000 * this.#rps >= this.#burst) {
        this.#buckets.delete(key);
      }
    }
    // All busy: forget the oldest half rather than grow without bound.
    if (this.#buckets.size >= MAX_BUCKETS) {
      let n = this.#buckets.size / 2;
      for (const key of this.#buckets.keys()) {
        if (n-- <= 0) break;
        this.#buckets.delete(key);
      }
    }
  }
}
