/** The same timing as handler.ts, in plain `deno run` (no sandbox). */
import * as ort from "npm:onnxruntime-web@1.30.0";
import { timeInference } from "./timing.ts";

ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(
  await Deno.readFile(new URL("./model.onnx", import.meta.url)),
);
const timing = await timeInference(ort, session);
Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(timing) + "\n"));
