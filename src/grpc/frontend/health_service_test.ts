import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import {
  HealthCheckRequestSchema,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as Serving,
  HealthCheckResponseSchema,
} from "../gen/grpc/health/v1/health_pb.ts";
import { withServer } from "../_testing.ts";
import { once } from "./_test_client.ts";

const ser = (service: string) =>
  Buffer.from(
    toBinary(
      HealthCheckRequestSchema,
      create(HealthCheckRequestSchema, { service }),
    ),
  );
const de = (b: Buffer) => fromBinary(HealthCheckResponseSchema, b);

function check(client: grpc.Client, service: string) {
  return new Promise<HealthCheckResponse>((resolve, reject) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      ser,
      de,
      service,
      (err, res) => err ? reject(err) : resolve(res!),
    );
  });
}

Deno.test("Health/Check reports the service and the server", async () => {
  await withServer(async ({ client, server }) => {
    assert.equal(
      (await check(client, "test.v1.TestService")).status,
      Serving.SERVING,
    );
    assert.equal((await check(client, "")).status, Serving.SERVING);
    server.setServing("test-api", false);
    assert.equal(
      (await check(client, "test.v1.TestService")).status,
      Serving.NOT_SERVING,
    );
    assert.equal((await check(client, "")).status, Serving.NOT_SERVING);
    await assert.rejects(check(client, "no.Such"), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.NOT_FOUND);
      return true;
    });
  });
});

Deno.test("Health/Watch sends the status and its changes", async () => {
  await withServer(async ({ client, server }) => {
    const call = client.makeServerStreamRequest(
      "/grpc.health.v1.Health/Watch",
      ser,
      de,
      "test.v1.TestService",
    );
    call.on("error", () => {});
    const first = await once<HealthCheckResponse>(call, "data");
    assert.equal(first.status, Serving.SERVING);
    server.setServing("test-api", false);
    const second = await once<HealthCheckResponse>(call, "data");
    assert.equal(second.status, Serving.NOT_SERVING);
    call.cancel();
  });
});
