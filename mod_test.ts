import assert from "node:assert/strict";
import * as mod from "./mod.ts";

Deno.test("mod.ts exports exactly the public runtime values", () => {
  assert.deepEqual(Object.keys(mod).sort(), [
    "Code",
    "ControlError",
    "CortexClient",
    "GrpcError",
    "HttpError",
    "loadHandler",
  ]);
});
