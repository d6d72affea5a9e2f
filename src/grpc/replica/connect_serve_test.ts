import assert from "node:assert/strict";
import { createConnectServe, headersToMetadata } from "./connect_serve.ts";
import { createGrpcReplicaSide } from "./replica_side.ts";
import type { GrpcCallInfo } from "../common/call_info.ts";
import { testDescriptors } from "../_testing.ts";

Deno.test("headersToMetadata() keeps the call's headers and drops the protocols'", () => {
  const metadata = headersToMetadata(
    new Headers([
      ["content-type", "application/json"],
      ["connect-timeout-ms", "100"],
      ["connect-protocol-version", "1"],
      ["grpc-timeout", "1S"],
      ["x-grpc-web", "1"],
      ["x-in", "a"],
      ["x-key-bin", "AAE"],
      [
        "traceparent",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      ],
      ["authorization", "Bearer k"],
    ]),
  );
  assert.deepEqual(metadata, {
    authorization: "Bearer k",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "x-in": "a",
    "x-key-bin": "AAE",
  });
});

async function door(requestTimeoutMs: number) {
  const deadlines: (Date | null)[] = [];
  const handler = {
    Unary(req: { text: string }, info: GrpcCallInfo) {
      deadlines.push(info.deadline);
      return { text: req.text.toUpperCase() };
    },
  };
  const serve = createConnectServe({
    descriptorSet: await testDescriptors(),
    protobufPath: "test.proto",
    api: "t",
    runner: (post) =>
      createGrpcReplicaSide({
        handler,
        post,
        logError: () => {},
        runWithSlot: (fn) => fn(),
      }),
    requestTimeoutMs,
    maxBodyBytes: 1 << 20,
    logError: () => {},
  });
  return { serve, deadlines };
}

function post(path: string, body: unknown, headers: HeadersInit = {}) {
  return new Request(`http://localhost${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

Deno.test("createConnectServe() serves the service path and bounds deadlines by request_timeout", async () => {
  const { serve, deadlines } = await door(1_000);
  assert.equal(serve.servicePath, "/test.v1.TestService");
  const started = Date.now();
  const res = await serve.serve(
    post("/test.v1.TestService/Unary", { text: "hi" }, {
      "connect-timeout-ms": "60000",
    }),
    "rid-1",
  );
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { text: "HI" });
  const bounded = deadlines[0]!.getTime() - started;
  assert.ok(bounded <= 1_100 && bounded > 500, `deadline in ${bounded} ms`);
  await (await serve.serve(
    post("/test.v1.TestService/Unary", { text: "x" }, {
      "connect-timeout-ms": "200",
    }),
    "rid-2",
  )).body?.cancel();
  const own = deadlines[1]!.getTime() - started;
  assert.ok(own <= 300, `the client's shorter deadline: ${own} ms`);
});

Deno.test("createConnectServe() answers an unknown method with 404 unimplemented", async () => {
  const { serve } = await door(1_000);
  const res = await serve.serve(
    post("/test.v1.TestService/Nope", {}),
    "rid",
  );
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.code, "unimplemented");
  assert.match(body.message, /No method "test\.v1\.TestService\/Nope"/);
});
