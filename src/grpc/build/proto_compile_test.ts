import assert from "node:assert/strict";
import { compileProto } from "./proto_compile.ts";
import { normaliseProtoPath } from "../common/proto_path.ts";
import { GrpcConfigError } from "../common/grpc_config_error.ts";
import { describeService } from "../common/registry.ts";
import { BAD_PROJECT, PROJECT, testDescriptors } from "../_testing.ts";

Deno.test("compileProto() resolves project imports and well-known types", async () => {
  const set = await testDescriptors();
  const info = describeService(set, "./test.proto");
  assert.equal(info.serviceName, "test.v1.TestService");
  assert.deepEqual(info.methods.map((m) => [m.name, m.kind]), [
    ["Unary", "unary"],
    ["ClientStream", "client_stream"],
    ["ServerStream", "server_stream"],
    ["Bidi", "bidi"],
    ["Slow", "unary"],
    ["Missing", "unary"],
  ]);
  assert.equal(info.methods[0]!.input, "test.v1.Req");
});

Deno.test("compileProto() fails with buf's file:line:col message", async () => {
  await assert.rejects(
    compileProto(BAD_PROJECT, "syntax.proto"),
    (err: Error) => {
      assert.ok(err instanceof GrpcConfigError);
      assert.match(
        err.message,
        /^Cannot compile protobuf "syntax\.proto": syntax\.proto:4:3:/,
      );
      return true;
    },
  );
});

Deno.test("compileProto() fails for a missing file", async () => {
  await assert.rejects(
    compileProto(PROJECT, "nope.proto"),
    /Cannot compile protobuf "nope\.proto": file not found/,
  );
});

Deno.test("describeService() says how many services a proto has", async () => {
  const two = await compileProto(BAD_PROJECT, "two.proto");
  assert.throws(
    () => describeService(two, "two.proto"),
    /must define exactly one service: it defines 2 \("two\.A", "two\.B"\)/,
  );
  const none = await compileProto(BAD_PROJECT, "none.proto");
  assert.throws(
    () => describeService(none, "none.proto"),
    /must define exactly one service: it defines 0$/,
  );
});

Deno.test("normaliseProtoPath() rejects paths outside the project", () => {
  assert.equal(normaliseProtoPath("./a/b.proto"), "a/b.proto");
  for (const bad of ["/etc/x.proto", "../x.proto", "a/../../x.proto", ""]) {
    assert.throws(() => normaliseProtoPath(bad), GrpcConfigError, bad);
  }
});
