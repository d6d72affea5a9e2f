/**
 * Times single-sample inferences of the example model, one `run()` at a
 * time, the same code in a replica (handler.ts) and in plain `deno run`
 * (plain.ts).
 *
 * @module
 */

import type * as Ort from "onnxruntime-web";

/** Per-inference latency in microseconds. */
export interface Timing {
  n: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

/** Runs `n` timed inferences after `warmup` untimed ones. */
export async function timeInference(
  ort: typeof Ort,
  session: Ort.InferenceSession,
  n = 5000,
  warmup = 500,
): Promise<Timing> {
  const x = new ort.Tensor("float32", Float32Array.from([5.1, 3.5, 1.4, 0.2]), [
    1,
    4,
  ]);
  for (let i = 0; i < warmup; i++) await session.run({ x });
  const us: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await session.run({ x });
    us.push((performance.now() - t) * 1000);
  }
  us.sort((a, b) => a - b);
  const at = (q: number) => us[Math.min(us.length - 1, Math.floor(q * n))]!;
  return {
    n,
    p50Us: at(0.5),
    p99Us: at(0.99),
    meanUs: us.reduce((a, b) => a + b, 0) / n,
  };
}
