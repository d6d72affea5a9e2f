/**
 * Does about `burn_ms` of CPU work per request (a stand-in for inference).
 * The work is a fixed loop count, calibrated once at start after the loop
 * has been optimised, so a replica that shares its core does the same work,
 * only slower.
 */
export class Handler {
  #loops: number;

  constructor(config: { burn_ms?: number }) {
    const burnMs = config.burn_ms ?? 5;
    // Warm up until V8 has optimised spin(), then time the fastest of
    // several calls of the size requests use.
    for (let i = 0; i < 300; i++) spin(20_000);
    let msPerLoop = Infinity;
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      spin(200_000);
      msPerLoop = Math.min(msPerLoop, (performance.now() - started) / 200_000);
    }
    this.#loops = Math.round(burnMs / msPerLoop);
  }

  handlePost(): { result: number; loops: number; ms: number } {
    const started = performance.now();
    const result = spin(this.#loops);
    return { result, loops: this.#loops, ms: performance.now() - started };
  }
}

function spin(n: number): number {
  let x = 1;
  for (let i = 0; i < n; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}
