import assert from "node:assert/strict";
import {
  create,
  createFileRegistry,
  fromBinary,
  toBinary,
} from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import * as v1 from "../gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { withServer } from "../_testing.ts";
import { once } from "./_test_client.ts";

type Gen = typeof v1 | typeof v1alpha;

async function ask(
  client: grpc.Client,
  version: "v1" | "v1alpha",
  gen: Gen,
  request: Record<string, unknown>,
): Promise<v1.ServerReflectionResponse> {
  const call = client.makeBidiStreamRequest(
    `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
    (v: unknown) =>
      Buffer.from(toBinary(
        gen.ServerReflectionRequestSchema,
        create(gen.ServerReflectionRequestSchema, v as never),
      )),
    (b: Buffer) => fromBinary(gen.ServerReflectionResponseSchema, b),
  );
  call.write(request);
  const res = await once<v1.ServerReflectionResponse>(call, "data");
  const status = once(call, "status");
  call.end();
  await status;
  return res;
}

Deno.test("ServerReflection v1 lists services and returns decodable descriptors", async () => {
  await withServer(async ({ client }) => {
    const list = await ask(client, "v1", v1, {
      messageRequest: { case: "listServices", value: "" },
    });
    assert.equal(list.messageResponse.case, "listServicesResponse");
    const names = (list.messageResponse.value as v1.ListServiceResponse)
      .service.map((s) => s.name);
    assert.deepEqual(names, [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "test.v1.TestService",
    ]);

    const res = await ask(client, "v1", v1, {
      messageRequest: {
        case: "fileContainingSymbol",
        value: "test.v1.TestService.Bidi",
      },
    });
    assert.equal(res.messageResponse.case, "fileDescriptorResponse");
    const files = (res.messageResponse.value as v1.FileDescriptorResponse)
      .fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
    assert.deepEqual(files.map((f) => f.name).sort(), [
      "common/stamp.proto",
      "google/protobuf/timestamp.proto",
      "google/protobuf/wrappers.proto",
      "test.proto",
    ]);
    // The requested file comes first; a registry wants dependencies first.
    const registry = createFileRegistry(
      create(FileDescriptorSetSchema, { file: files.reverse() }),
    );
    const service = registry.getService("test.v1.TestService");
    assert.deepEqual(service?.methods.map((m) => m.name), [
      "Unary",
      "ClientStream",
      "ServerStream",
      "Bidi",
      "Slow",
      "Missing",
    ]);
  });
});

Deno.test("ServerReflection v1alpha answers by file name and reports unknown symbols", async () => {
  await withServer(async ({ client }) => {
    const res = await ask(client, "v1alpha", v1alpha, {
      messageRequest: { case: "fileByFilename", value: "common/stamp.proto" },
    });
    assert.equal(res.messageResponse.case, "fileDescriptorResponse");
    const missing = await ask(client, "v1alpha", v1alpha, {
      messageRequest: { case: "fileContainingSymbol", value: "no.Such" },
    });
    assert.equal(missing.messageResponse.case, "errorResponse");
    assert.equal(
      (missing.messageResponse.value as v1.ErrorResponse).errorCode,
      5,
    );
  });
});
