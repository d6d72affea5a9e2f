import * as ort from "onnxruntime-web";
import { timeInference } from "./timing.ts";

/** The example's model; GET times inferences inside the replica. */
export class Handler {
  #session: ort.InferenceSession | null = null;

  constructor() {
    ort.env.wasm.numThreads = 1;
  }

  async init(): Promise<void> {
    this.#session = await ort.InferenceSession.create(
      await Deno.readFile("model.onnx"),
    );
  }

  async handlePost(payload: { features: number[] }) {
    const x = new ort.Tensor("float32", Float32Array.from(payload.features), [
      1,
      4,
    ]);
    const out = await this.#session!.run({ x });
    return { probabilities: [...(out.probabilities!.data as Float32Array)] };
  }

  async handleGet() {
    return await timeInference(ort, this.#session!);
  }
}
