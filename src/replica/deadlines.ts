/**
 * Request deadlines on one coarse timer per replica instead of a timer per
 * request (a timer per request showed up as a top cost under load).
 *
 * @module
 */

/** A registered deadline; pass it to `cancel`. */
export interface Deadline {
  at: number;
  fire: () => void;
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
    const d = { at: performance.now() + delayMs, fire };
    this.#pending.add(d);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#tick(), this.#resolutionMs);
      Deno.unrefTimer(this.#timer as unknown as number);
    }
    return d;
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
