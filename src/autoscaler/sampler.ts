/**
 * The in-flight samples the autoscaler loop keeps between ticks: a fixed-size
 * ring buffer, plus the window average `decide()` computes from it.
 *
 * @module
 */

/** One observation of in-flight requests (running + queued) at `at` ms. */
export interface Sample {
  at: number;
  inFlight: number;
}

/**
 * A ring buffer of samples in the order pushed; when full, a push drops the
 * oldest sample.
 *
 * @example
 * ```ts
 * import { SampleWindow } from "./sampler.ts";
 *
 * const w = new SampleWindow(2);
 * w.push({ at: 1, inFlight: 1 });
 * w.push({ at: 2, inFlight: 2 });
 * w.push({ at: 3, inFlight: 3 });
 * w.prune(3);
 * if (w.samples().length !== 1) throw new Error("Expected one sample");
 * ```
 */
export class SampleWindow {
  #buf: (Sample | undefined)[];
  #head = 0; // index of the oldest sample
  #size = 0;

  /**
   * @param capacity The most samples kept, at least 1.
   * @throws {RangeError} When capacity is not a positive integer.
   */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create sample window of capacity "${capacity}": must be a positive integer`,
      );
    }
    this.#buf = new Array<Sample | undefined>(capacity);
  }

  /** The most samples kept. */
  get capacity(): number {
    return this.#buf.length;
  }

  /** The number of samples held. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends a sample, dropping the oldest when full.
   *
   * @param sample The sample to keep.
   */
  push(sample: Sample): void {
    const cap = this.#buf.length;
    this.#buf[(this.#head + this.#size) % cap] = sample;
    if (this.#size < cap) this.#size++;
    else this.#head = (this.#head + 1) % cap;
  }

  /**
   * Drops the oldest samples taken strictly before `before`, stopping at the
   * first one that is not (samples are assumed pushed in time order).
   *
   * @param before A time in ms.
   */
  prune(before: number): void {
    const cap = this.#buf.length;
    while (this.#size > 0) {
      const oldest = this.#buf[this.#head];
      if (oldest === undefined || oldest.at >= before) return;
      this.#buf[this.#head] = undefined;
      this.#head = (this.#head + 1) % cap;
      this.#size--;
    }
  }

  /**
   * The samples held, oldest first.
   *
   * @returns A new array.
   */
  samples(): Sample[] {
    const out: Sample[] = [];
    for (let i = 0; i < this.#size; i++) {
      const s = this.#buf[(this.#head + i) % this.#buf.length];
      if (s !== undefined) out.push(s);
    }
    return out;
  }
}

/**
 * Averages the samples taken within `(now - windowMs, now]`.
 *
 * @param samples Samples in any order.
 * @param now The current time in ms.
 * @param windowMs The window length in ms.
 * @returns The mean in-flight count, or null when no sample falls in the window.
 *
 * @example
 * ```ts
 * import { averageInFlight } from "./sampler.ts";
 *
 * const avg = averageInFlight([{ at: 0, inFlight: 9 }, { at: 5, inFlight: 2 }], 10, 10);
 * if (avg !== 2) throw new Error("Expected 2");
 * ```
 */
export function averageInFlight(
  samples: readonly Sample[],
  now: number,
  windowMs: number,
): number | null {
  let sum = 0;
  let count = 0;
  for (const s of samples) {
    if (s.at > now - windowMs && s.at <= now) {
      sum += s.inFlight;
      count++;
    }
  }
  return count === 0 ? null : sum / count;
}
