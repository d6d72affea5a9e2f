/**
 * Request deadlines on one coarse timer per replica instead of a timer per
 * request (a timer per request showed up as a top cost under load).
 *
 * @module
 */

/**
 * A registered deadline; pass it to `cancel`. Any object with these two
 * members can be one (a request run is its own: no closure per request).
 */
export interface Deadline {
  at: number;
  fire(): void;
}

/** Fires callbacks at (or up to `resolutionMs` after) their deadline. */
export class Deadlines {
  readonly #pending = new Set<Deadline>();
  readonly #resolutionMs: number;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(resolutionMs: number) {
    this.#resolutionMs = Math.max(1, resolutionMs);
  }

  /** Calls `fire` once `delayMs` have passed, unless cancelled first. */
  add(delayMs: number, fire: () => void): Deadline {
    const d = { at: 0, fire };
    this.arm(d, delayMs);
    return d;
  }

  /**
   * Registers `d` to fire once `delayMs` have passed from `now` (a
   * `performance.now()` the caller already read), unless cancelled first.
   */
  arm(d: Deadline, delayMs: number, now: number = performance.now()): void {
    d.at = now + delayMs;
    this.#pending.add(d);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#tick(), this.#resolutionMs);
      Deno.unrefTimer(this.#timer as unknown as number);
    }
  }

  /** Forgets a deadline. The timer keeps running: re-arming it per request costs more. */
  cancel(d: Deadline): void {
    this.#pending.delete(d);
  }

  /** Stops the timer (the replica is ending). */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    const now = performance.now();
    for (const d of this.#pending) {
      if (d.at <= now) {
        this.cancel(d);
        d.fire();
      }
    }
  }
}
