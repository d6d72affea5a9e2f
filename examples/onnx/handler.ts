import * as ort from "onnxruntime-web";
import { type HandlerContext, HttpError } from "cortex";

interface Config {
  /** The model file, relative to the project. */
  model?: string;
}

interface Payload {
  /** One sample (4 features) or a batch of samples. */
  features?: number[] | number[][];
}

const LABELS = ["setosa", "versicolor", "virginica"];

/**
 * Classifies iris-like samples with an ONNX model run by onnxruntime-web
 * (WASM). The model loads in `init()`: the replica is ready, and /healthz
 * says so, only once it has loaded.
 */
export class Handler {
  #path: string;
  #ctx: HandlerContext;
  #session: ort.InferenceSession | null = null;

  constructor(config: Config, ctx: HandlerContext) {
    this.#path = config.model ?? "model.onnx";
    this.#ctx = ctx;
    // One thread per replica: scale with replicas, not threads.
    ort.env.wasm.numThreads = 1;
  }

  async init(): Promise<void> {
    const started = performance.now();
    this.#session = await ort.InferenceSession.create(
      await Deno.readFile(this.#path),
    );
    this.#ctx.logger.info("Model loaded", {
      extra: {
        model: this.#path,
        ms: Math.round(performance.now() - started),
        inputs: this.#session.inputNames,
        outputs: this.#session.outputNames,
      },
    });
  }

  async handlePost(payload: Payload) {
    const rows = toRows(payload?.features);
    const x = new ort.Tensor("float32", Float32Array.from(rows.flat()), [
      rows.length,
      4,
    ]);
    const out = await this.#session!.run({ x });
    const probs = out.probabilities!.data as Float32Array;
    const predictions = rows.map((_, i) => {
      const p = [...probs.subarray(i * 3, i * 3 + 3)];
      const best = p.indexOf(Math.max(...p));
      return { label: LABELS[best], probabilities: p };
    });
    return { predictions };
  }
}

function toRows(features: Payload["features"]): number[][] {
  const rows = Array.isArray(features?.[0])
    ? features as number[][]
    : [features as number[]];
  if (
    rows.length === 0 || rows.length > 1024 ||
    rows.some((r) =>
      !Array.isArray(r) || r.length !== 4 ||
      r.some((v) => typeof v !== "number" || !Number.isFinite(v))
    )
  ) {
    throw new HttpError(
      400,
      'Send {"features": [f1, f2, f3, f4]} or a list of up to 1024 such rows',
    );
  }
  return rows;
}
