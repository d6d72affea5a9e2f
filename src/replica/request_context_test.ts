import assert from "node:assert/strict";
import {
  callMethodInRequest,
  currentRequestId,
  isAsyncMethod,
} from "./request_context.ts";

Deno.test("callMethodInRequest(): a plain method sees its request while it runs", () => {
  const seen = callMethodInRequest(
    { requestId: "r-1" },
    (a: number, b: number) => `${currentRequestId()} ${a + b}`,
    1,
    2,
    false,
  );
  assert.equal(seen, "r-1 3");
  assert.equal(currentRequestId(), undefined, "the scope ends with the call");
});

Deno.test("callMethodInRequest(): an async method keeps its request across awaits", async () => {
  const method = async (a: string, _b: null) => {
    await new Promise((r) => setTimeout(r, 1));
    return `${currentRequestId()} ${a}`;
  };
  assert.ok(isAsyncMethod(method));
  assert.ok(!isAsyncMethod(() => 1));
  const seen = callMethodInRequest(
    { requestId: "r-2" },
    method,
    "x",
    null,
    isAsyncMethod(method),
  );
  assert.equal(await seen, "r-2 x");
});
