import assert from "node:assert/strict";
import { Code, errorCode, GrpcError, isGrpcError } from "./grpc_error.ts";

Deno.test("GrpcError carries code, message and metadata", () => {
  const err = new GrpcError(Code.NOT_FOUND, "Gone", { "x-a": "1" });
  assert.equal(err.code, 5);
  assert.equal(err.message, "Gone");
  assert.equal(err.name, "GrpcError");
  assert.deepEqual(err.metadata, { "x-a": "1" });
  assert.ok(err instanceof Error);
});

Deno.test("GrpcError instanceof accepts errors from another copy of the module", () => {
  class GrpcErrorCopy extends Error {
    override name = "GrpcError";
    constructor(readonly code: number, message: string) {
      super(message);
    }
  }
  const foreign = new GrpcErrorCopy(Code.ABORTED, "other copy");
  assert.ok(foreign instanceof GrpcError);
  assert.ok(isGrpcError(foreign));
  assert.ok(!(new Error("x") instanceof GrpcError));
  assert.ok(!isGrpcError({ name: "GrpcError", code: "5", message: "x" }));
  assert.ok(!isGrpcError(null));
});

Deno.test("errorCode() maps invalid codes to UNKNOWN", () => {
  assert.equal(errorCode(Code.INTERNAL), Code.INTERNAL);
  for (const bad of [0, -1, 17, 1.5, NaN]) {
    assert.equal(errorCode(bad), Code.UNKNOWN);
  }
});
