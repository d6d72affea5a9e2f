import assert from "node:assert/strict";
import { type GrpcProcessArgs, grpcProcessArgv } from "./grpc_process_args.ts";
import { UsageError } from "./argv.ts";

const ARGS: GrpcProcessArgs = {
  socket: "/s/grpc.sock",
  descriptors: "/s/descriptors.json",
  host: "::",
  grpcPort: 0,
  logLevel: "warning",
  logFormat: "pretty",
};

Deno.test("gRPC process argv: parseArgv(toArgv(x)) is x", () => {
  assert.deepEqual(
    grpcProcessArgv.parseArgv(grpcProcessArgv.toArgv(ARGS)),
    ARGS,
  );
});

Deno.test("gRPC process argv: unknown, missing and bad flags are named", () => {
  const argv = grpcProcessArgv.toArgv(ARGS);
  const cases: [string[], RegExp][] = [
    [[...argv, "--tls"], /gRPC process: .*--tls/],
    [
      argv.filter((a) => !a.startsWith("--socket")),
      /option --socket is missing/,
    ],
    [
      [...argv, "--grpc-port=9k"],
      /option --grpc-port is "9k": expected an integer/,
    ],
    [[...argv, "--log-level=loud"], /option --log-level is "loud"/],
    [[...argv, "extra"], /unexpected argument "extra"/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(
      () => grpcProcessArgv.parseArgv(bad),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      bad.join(" "),
    );
  }
});
