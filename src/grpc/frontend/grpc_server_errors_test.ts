import assert from "node:assert/strict";
import type { ServiceError } from "@grpc/grpc-js";
import { Code } from "../common/grpc_error.ts";
import { withServer } from "../_testing.ts";
import { once } from "./_test_client.ts";

function rejected(p: Promise<unknown>): Promise<ServiceError> {
  return p.then(
    () => assert.fail("call succeeded"),
    (err: ServiceError) => err,
  );
}

Deno.test("startGrpcServer() sends a GrpcError's code, message and metadata", async () => {
  await withServer(async ({ client, backend }) => {
    const err = await rejected(client.unary("Unary", { text: "grpc-error" }));
    assert.equal(err.code, Code.NOT_FOUND);
    assert.equal(err.details, 'Model "x" not found');
    assert.deepEqual(err.metadata.get("x-why"), ["missing"]);
    assert.equal(backend.errors.length, 0);
    assert.equal(backend.inFlight, 0);
  });
});

Deno.test("startGrpcServer() turns a plain throw into INTERNAL without the stack", async () => {
  await withServer(async ({ client, backend }) => {
    const err = await rejected(
      client.unary("Unary", { text: "throw" }, {
        metadata: { "x-request-id": "r-1" },
      }),
    );
    assert.equal(err.code, Code.INTERNAL);
    assert.match(err.details, /request id "r-1"/);
    assert.doesNotMatch(err.details, /secret|at /);
    assert.equal(backend.errors.length, 1);
    assert.match(String(backend.errors[0]!.err), /secret detail/);
  });
});

Deno.test("startGrpcServer() answers UNIMPLEMENTED for a method the handler lacks and warns at start", async () => {
  await withServer(async ({ client, logger, backend }) => {
    const err = await rejected(client.unary("Missing", { text: "x" }));
    assert.equal(err.code, Code.UNIMPLEMENTED);
    assert.match(err.details, /test\.v1\.TestService\/Missing/);
    assert.equal(backend.admitted, 0);
    assert.ok(
      logger.lines.some((l) =>
        l.level === "warning" && l.msg.includes('no method "Missing"')
      ),
    );
  });
});

Deno.test("startGrpcServer() answers INVALID_ARGUMENT for a request that does not decode", async () => {
  await withServer(async ({ client, backend }) => {
    const err = await rejected(
      client.unaryRaw("Unary", new Uint8Array([0x0a, 0x05, 0x61])),
    );
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    assert.match(err.details, /Cannot decode request as test\.v1\.Req/);
    // The replica decodes (the bytes pass through): admitted, then released.
    assert.equal(backend.admitted, 1);
    assert.equal(backend.inFlight, 0);
  });
});

Deno.test("startGrpcServer() answers INTERNAL naming the field of a bad return value", async () => {
  await withServer(async ({ client, backend }) => {
    const err = await rejected(client.unary("Unary", { text: "bad-return" }));
    assert.equal(err.code, Code.INTERNAL);
    assert.match(err.details, /field "stamp\.at\.seconds" is "soon"/);
    const typo = await rejected(
      client.unary("Unary", { text: "unknown-field" }),
    );
    assert.match(typo.details, /unknown field "txt"/);
    assert.equal(backend.inFlight, 0);
  });
});

Deno.test("startGrpcServer() answers UNAVAILABLE when admission is refused", async () => {
  await withServer(async ({ client, backend }) => {
    backend.limit = 0;
    const err = await rejected(client.unary("Unary", { text: "x" }));
    assert.equal(err.code, Code.UNAVAILABLE);
    assert.match(err.details, /API "test-api" is at its concurrency limit/);
  });
});

Deno.test("startGrpcServer() aborts the handler's signal when the client cancels", async () => {
  await withServer(async ({ client, backend, handler }) => {
    const { ser, de } = await client.codec();
    const call = client.makeUnaryRequest(
      "/test.v1.TestService/Slow",
      ser,
      de,
      { text: "x" },
      () => {},
    );
    await handler.slowStarted.promise;
    const status = once<{ code: number }>(call, "status");
    call.cancel();
    assert.equal((await status).code, Code.CANCELLED);
    while (backend.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(handler.aborts.length, 1);
    assert.equal((handler.aborts[0] as { code: number }).code, Code.CANCELLED);
  });
});

Deno.test("startGrpcServer() aborts the handler's signal at the deadline", async () => {
  await withServer(async ({ client, backend, handler }) => {
    const err = await rejected(
      client.unary("Slow", { text: "x" }, {
        deadline: new Date(Date.now() + 200),
      }),
    );
    assert.equal(err.code, Code.DEADLINE_EXCEEDED);
    while (backend.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(
      (handler.aborts[0] as { code: number }).code,
      Code.DEADLINE_EXCEEDED,
    );
  });
});

Deno.test("startGrpcServer() answers UNAVAILABLE when the replica dies during a call", async () => {
  await withServer(async ({ client, backend, handler }) => {
    const call = rejected(client.unary("Slow", { text: "x" }));
    await handler.slowStarted.promise;
    backend.loseAll("worker exited with code 1");
    const err = await call;
    assert.equal(err.code, Code.UNAVAILABLE);
    assert.match(err.details, /stopped during the call: worker exited/);
    assert.equal(backend.inFlight, 0);
  });
});

Deno.test("startGrpcServer() rejects two APIs that define the same service", async () => {
  const { testDescriptors, FakeBackend, TestHandler, MemoryLogger } =
    await import("../_testing.ts");
  const { startGrpcServer } = await import("./grpc_server.ts");
  const descriptorSet = await testDescriptors();
  const api = { protobufPath: "test.proto", descriptorSet, handlerMethods: [] };
  await assert.rejects(
    startGrpcServer({
      apis: [{ name: "a", ...api }, { name: "b", ...api }],
      host: "127.0.0.1",
      port: 0,
      backend: new FakeBackend(new TestHandler(), () => undefined),
      logger: new MemoryLogger(),
      health: { isServing: () => true },
    }),
    /Cannot serve service "test\.v1\.TestService" for API "b": API "a" already serves it/,
  );
});
