/**
 * When a replica asks a client to reconnect (`connection: close`): kept-alive
 * connections stay on the replica that accepted them, so after a scale-up the
 * new replicas would only see new connections. A replica that recently had
 * more work than slots (it queued or handed a request to another replica)
 * asks the clients of its next answers to reconnect, at a bounded rate, and
 * the kernel spreads their new connections over every replica's listener.
 *
 * @module
 */

/** Options of {@linkcode ReconnectPolicy}. */
export interface ReconnectOptions {
  /** At most one request to reconnect per this many ms (default 100). */
  minGapMs?: number;
  /** How long being over capacity counts (default 1000 ms). */
  busyForMs?: number;
}

/** Decides, per answer, whether to ask its client to reconnect. */
export class ReconnectPolicy {
  readonly #minGapMs: number;
  readonly #busyForMs: number;
  #busyAt = -Infinity;
  #askedAt = -Infinity;
  /** Clients asked to reconnect so far. */
  asked = 0;

  constructor(opts: ReconnectOptions = {}) {
    this.#minGapMs = opts.minGapMs ?? 100;
    this.#busyForMs = opts.busyForMs ?? 1_000;
  }

  /** The replica had more work than free slots at `now`. */
  overCapacity(now: number): void {
    this.#busyAt = now;
  }

  /**
   * True when this answer should ask its client to reconnect: the replica
   * was over capacity lately, other replicas exist, and the last ask is
   * older than the minimum gap.
   */
  shouldAsk(now: number, peers: number): boolean {
    if (peers < 2 || now - this.#busyAt > this.#busyForMs) return false;
    if (now - this.#askedAt < this.#minGapMs) return false;
    this.#askedAt = now;
    this.asked++;
    return true;
  }
}
