/**
 * Does about `burn_ms` of CPU work per request (a stand-in for inference).
 * The work is a fixed loop count, calibrated once at start, so a replica that
 * shares its core does the same work, only slower.
 */
export class Handler {
  #loops: number;

  constructor(config: { burn_ms?: number }) {
    const burnMs = config.burn_ms ?? 5;
    let loops = 0;
    const started = performance.now();
    while (performance.now() - started < 100) {
      loops += spin(10_000) >= 0 ? 10_000 : 0;
    }
    this.#loops = Math.round((loops / (performance.now() - started)) * burnMs);
  }

  handlePost(): { result: number } {
    return { result: spin(this.#loops) };
  }
}

function spin(n: number): number {
  let x = 1;
  for (let i = 0; i < n; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}
