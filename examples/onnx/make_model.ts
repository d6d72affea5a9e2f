/**
 * Writes `model.onnx`: the MLP of `model.ts` as an ONNX ModelProto (IR
 * version 8, opset 13), encoded field by field with @bufbuild/protobuf's
 * wire writer, so no ONNX tooling (and no download) is needed.
 *
 * Run from the repository root:
 * `deno run --allow-write=examples/onnx examples/onnx/make_model.ts`
 *
 * @module
 */

import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { PARAMS, SHAPE } from "./model.ts";

const FLOAT = 1; // TensorProto.DataType.FLOAT

type Write = (w: BinaryWriter) => void;

/** A length-delimited sub-message at `field`. */
function message(w: BinaryWriter, field: number, body: Write): void {
  w.tag(field, 2).fork();
  body(w);
  w.join();
}

function string(w: BinaryWriter, field: number, value: string): void {
  w.tag(field, 2).string(value);
}

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9. */
function tensor(name: string, dims: number[], data: Float32Array): Write {
  return (w) => {
    for (const d of dims) w.tag(1, 0).int64(d);
    w.tag(2, 0).int32(FLOAT);
    string(w, 8, name);
    w.tag(9, 2).bytes(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
  };
}

/**
 * ValueInfoProto: name = 1, type = 2 (TypeProto.tensor_type = 1: elem_type
 * = 1, shape = 2 (dim = 1: dim_value = 1, dim_param = 2)).
 */
function valueInfo(name: string, dims: (number | string)[]): Write {
  return (w) => {
    string(w, 1, name);
    message(w, 2, (w) =>
      message(w, 1, (w) => {
        w.tag(1, 0).int32(FLOAT);
        message(w, 2, (w) => {
          for (const d of dims) {
            message(w, 1, (w) => {
              if (typeof d === "number") w.tag(1, 0).int64(d);
              else string(w, 2, d);
            });
          }
        });
      }));
  };
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4. */
function node(op: string, inputs: string[], output: string): Write {
  return (w) => {
    for (const i of inputs) string(w, 1, i);
    string(w, 2, output);
    string(w, 3, output);
    string(w, 4, op);
  };
}

/** The ONNX bytes of the model in model.ts. */
export function modelBytes(): Uint8Array {
  const { inputs, hidden, classes } = SHAPE;
  const w = new BinaryWriter();
  w.tag(1, 0).int64(8); // ir_version
  string(w, 2, "cortex-deno examples/onnx"); // producer_name
  message(w, 7, (w) => { // graph
    message(w, 1, node("MatMul", ["x", "w1"], "xw1"));
    message(w, 1, node("Add", ["xw1", "b1"], "h0"));
    message(w, 1, node("Relu", ["h0"], "h"));
    message(w, 1, node("MatMul", ["h", "w2"], "hw2"));
    message(w, 1, node("Add", ["hw2", "b2"], "logits"));
    message(w, 1, node("Softmax", ["logits"], "probabilities"));
    string(w, 2, "mlp");
    message(w, 5, tensor("w1", [inputs, hidden], PARAMS.w1));
    message(w, 5, tensor("b1", [hidden], PARAMS.b1));
    message(w, 5, tensor("w2", [hidden, classes], PARAMS.w2));
    message(w, 5, tensor("b2", [classes], PARAMS.b2));
    message(w, 11, valueInfo("x", ["batch", inputs]));
    message(w, 12, valueInfo("probabilities", ["batch", classes]));
  });
  message(w, 8, (w) => w.tag(2, 0).int64(13)); // opset_import: version 13
  return w.finish();
}

if (import.meta.main) {
  const out = new URL("./model.onnx", import.meta.url);
  await Deno.writeFile(out, modelBytes());
}
