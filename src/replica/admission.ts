/**
 * Admission counters for one API, shared by the main thread and every replica
 * of the API through a SharedArrayBuffer, so a request is admitted or refused
 * (503) where it arrives, without a round trip.
 *
 * @module
 */

const IN_FLIGHT = 0; // admitted requests: running + queued (+ pending callbacks)
const LIMIT = 1; // replicas x max_replica_concurrency
const QUEUED = 2; // admitted requests waiting for a slot
const HEADER = 4;
const SLOT_FIELDS = 4; // per replica: load, heartbeat, queued, reserved

/** Replica state slots available per API. */
export const MAX_SLOTS = 64;

/** Creates the shared memory for one API. */
export function createAdmissionBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer((HEADER + MAX_SLOTS * SLOT_FIELDS) * 4);
}

/** Typed view over an API's admission buffer. */
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

  /**
   * Adds `delta` to the queued count, and to the replica's in `slot` when
   * given, so a replica that dies does not leave its queue counted.
   */
  addQueued(delta: number, slot?: number): void {
    Atomics.add(this.#a, QUEUED, delta);
    if (slot !== undefined) {
      Atomics.add(this.#a, HEADER + slot * SLOT_FIELDS + 2, delta);
    }
    this.#onChange();
  }

  /** Requests waiting for a handler slot in the replica in `slot`. */
  queuedIn(slot: number): number {
    return Atomics.load(this.#a, HEADER + slot * SLOT_FIELDS + 2);
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

  /**
   * Ends everything a dead replica held: its load leaves the in-flight count
   * and its waiting requests leave the queued count.
   */
  releaseSlot(slot: number): void {
    const held = Atomics.exchange(this.#a, HEADER + slot * SLOT_FIELDS, 0);
    if (held > 0) Atomics.sub(this.#a, IN_FLIGHT, held);
    const queued = Atomics.exchange(
      this.#a,
      HEADER + slot * SLOT_FIELDS + 2,
      0,
    );
    if (queued > 0) Atomics.sub(this.#a, QUEUED, queued);
  }

  /** Resets a slot before a new replica takes it. */
  resetSlot(slot: number): void {
    Atomics.store(this.#a, HEADER + slot * SLOT_FIELDS, 0);
    Atomics.store(this.#a, HEADER + slot * SLOT_FIELDS + 1, 0);
    Atomics.store(this.#a, HEADER + slot * SLOT_FIELDS + 2, 0);
  }

  /** Bumped by the replica every second; stalls when its thread is stuck. */
  heartbeat(slot: number): number {
    return Atomics.load(this.#a, HEADER + slot * SLOT_FIELDS + 1);
  }

  /** Called by the replica on its timer. */
  beat(slot: number): void {
    Atomics.add(this.#a, HEADER + slot * SLOT_FIELDS + 1, 1);
  }
}
