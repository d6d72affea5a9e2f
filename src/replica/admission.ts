/**
 * Admission counters of one replica: what it admits (Cortex's
 * `max_replica_concurrency`, running and queued), refused with 503 where the
 * request arrives. Atomics over a SharedArrayBuffer so that views in several
 * threads of the process would share the counters; today one replica core
 * holds the only view, in slot 0 (`SLOT` of replica_core.ts).
 *
 * @module
 */

const IN_FLIGHT = 0; // admitted requests: running + queued (+ pending callbacks)
const LIMIT = 1; // max_replica_concurrency
const QUEUED = 2; // admitted requests waiting for a slot
const HEADER = 4;
const SLOT_FIELDS = 2; // per slot: load, queued

/** Slots in one buffer. */
export const MAX_SLOTS = 64;

/** Creates the counters' memory. */
export function createAdmissionBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer((HEADER + MAX_SLOTS * SLOT_FIELDS) * 4);
}

/** Typed view over an admission buffer. */
export class Admission {
  readonly #a: Int32Array;
  readonly #onChange: () => void;

  /** @param onChange called after every change of the in-flight or queued count */
  constructor(buffer: SharedArrayBuffer, onChange: () => void = () => {}) {
    this.#a = new Int32Array(buffer);
    this.#onChange = onChange;
  }

  /** Admits one request unless the API is at its limit. */
  tryAdmit(): boolean {
    const now = Atomics.add(this.#a, IN_FLIGHT, 1) + 1;
    if (now > Atomics.load(this.#a, LIMIT)) {
      Atomics.sub(this.#a, IN_FLIGHT, 1);
      return false;
    }
    this.#onChange();
    return true;
  }

  /** Admits one request that was admitted elsewhere, whatever the limit. */
  admit(): void {
    Atomics.add(this.#a, IN_FLIGHT, 1);
    this.#onChange();
  }

  /** Ends an admitted request. */
  finish(): void {
    Atomics.sub(this.#a, IN_FLIGHT, 1);
    this.#onChange();
  }

  /** Admitted requests: running, queued and pending callbacks. */
  get inFlight(): number {
    return Atomics.load(this.#a, IN_FLIGHT);
  }

  get limit(): number {
    return Atomics.load(this.#a, LIMIT);
  }

  set limit(value: number) {
    Atomics.store(this.#a, LIMIT, value);
  }

  get queued(): number {
    return Atomics.load(this.#a, QUEUED);
  }

  /** Adds `delta` to the queued count, and to the one of `slot` when given. */
  addQueued(delta: number, slot?: number): void {
    Atomics.add(this.#a, QUEUED, delta);
    if (slot !== undefined) {
      Atomics.add(this.#a, HEADER + slot * SLOT_FIELDS + 1, delta);
    }
    this.#onChange();
  }

  /** Requests waiting for a handler slot in the replica in `slot`. */
  queuedIn(slot: number): number {
    return Atomics.load(this.#a, HEADER + slot * SLOT_FIELDS + 1);
  }

  /** Work held by the replica in `slot` (running + queued + callbacks). */
  load(slot: number): number {
    return Atomics.load(this.#a, HEADER + slot * SLOT_FIELDS);
  }

  /** Adds `delta` to the load of the replica in `slot`. */
  addLoad(slot: number, delta: number): void {
    Atomics.add(this.#a, HEADER + slot * SLOT_FIELDS, delta);
    this.#onChange();
  }
}
