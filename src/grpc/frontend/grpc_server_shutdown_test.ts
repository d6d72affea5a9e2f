import assert from "node:assert/strict";
import type { ServiceError } from "@grpc/grpc-js";
import { Code } from "../common/grpc_error.ts";
import { withServer } from "../_testing.ts";

Deno.test("GrpcServer.shutdown() cancels calls still running after the grace period", async () => {
  await withServer(async ({ client, server, backend, handler }) => {
    const call: Promise<ServiceError> = client.unary("Slow", { text: "x" })
      .then(() => assert.fail("call succeeded"), (err: ServiceError) => err);
    await handler.slowStarted.promise;
    const started = Date.now();
    await server.shutdown(150);
    assert.ok(Date.now() - started < 2000);
    const err = await call;
    assert.ok(
      [Code.CANCELLED, Code.UNAVAILABLE].includes(err.code as number),
      `code ${err.code}`,
    );
    while (backend.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal((handler.aborts[0] as { code: number }).code, Code.CANCELLED);
  });
});
