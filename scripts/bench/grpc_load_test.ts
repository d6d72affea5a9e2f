import assert from "node:assert/strict";
import { parseGrpcLoadOutput } from "./grpc_load.ts";

Deno.test("parseGrpcLoadOutput() turns calls and messages into rates", () => {
  const r = parseGrpcLoadOutput(
    '{"calls":400,"messages":40000,"errors":2,"durationS":4,"latenciesMs":[1.5,9]}\n',
  );
  assert.equal(r.requests, 400);
  assert.equal(r.rps, 100);
  assert.equal(r.mps, 10_000);
  assert.equal(r.p50Ms, 1.5);
  assert.equal(r.p99Ms, 9);
  assert.equal(r.errors, 2);
});

Deno.test("parseGrpcLoadOutput() names what it could not read", () => {
  assert.throws(
    () => parseGrpcLoadOutput("Error: connect ECONNREFUSED"),
    /Cannot parse grpc_load output: Error: connect ECONNREFUSED/,
  );
  assert.throws(
    () => parseGrpcLoadOutput('{"calls":1}'),
    /Cannot parse grpc_load output/,
  );
});
