/**
 * The example's model, as plain numbers: a 4-8-3 multilayer perceptron
 * (MatMul, Add, Relu, MatMul, Add, Softmax) whose weights follow a fixed
 * formula. `make_model.ts` writes it as ONNX; the tests compute its output
 * with {@linkcode predict} to check what onnxruntime-web answers.
 *
 * @module
 */

/** Input features, hidden units, classes. */
export const SHAPE = { inputs: 4, hidden: 8, classes: 3 } as const;

/** The class names, in output order. */
export const LABELS = ["setosa", "versicolor", "virginica"] as const;

/** Row-major `rows x cols` weights from a fixed formula (no randomness). */
function weights(rows: number, cols: number, seed: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.round(Math.sin((i + 1) * seed) * 1000) / 1000;
  }
  return out;
}

/** The model's parameters. */
export const PARAMS = {
  w1: weights(SHAPE.inputs, SHAPE.hidden, 1.7),
  b1: weights(1, SHAPE.hidden, 0.9),
  w2: weights(SHAPE.hidden, SHAPE.classes, 2.3),
  b2: weights(1, SHAPE.classes, 0.4),
};

/** The model in plain TypeScript, in float32 like the runtime. */
export function predict(x: number[]): number[] {
  const { inputs, hidden, classes } = SHAPE;
  const h = new Float32Array(hidden);
  for (let j = 0; j < hidden; j++) {
    let s = PARAMS.b1[j]!;
    for (let i = 0; i < inputs; i++) s += x[i]! * PARAMS.w1[i * hidden + j]!;
    h[j] = Math.max(0, s);
  }
  const z = new Float64Array(classes);
  for (let k = 0; k < classes; k++) {
    let s = PARAMS.b2[k]!;
    for (let j = 0; j < hidden; j++) s += h[j]! * PARAMS.w2[j * classes + k]!;
    z[k] = s;
  }
  const max = Math.max(...z);
  const e = [...z].map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}
