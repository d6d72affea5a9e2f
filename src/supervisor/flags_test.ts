import assert from "node:assert/strict";
import type { Project } from "../config/types.ts";
import {
  GRPC_ENV,
  grpcProcessPermissionFlags,
  moduleFlags,
  netGrants,
  RUNTIME_PATHS,
  SERVER_ENV,
} from "./flags.ts";

const PROJECT = {
  dir: "/p",
  apis: [{ handler: { allowNet: ["api.example.com"] } }],
} as unknown as Project;

Deno.test("netGrants(): the gRPC port, or only the bridge socket when the gRPC process serves gRPC", () => {
  const listen = {
    hostname: "0.0.0.0",
    port: 8888,
    grpcPort: 9000,
    controlPort: 0,
  };
  assert.deepEqual(netGrants(PROJECT, listen), [
    "0.0.0.0:8888",
    "0.0.0.0:9000",
    "127.0.0.1",
    "api.example.com",
  ]);
  assert.deepEqual(
    netGrants(PROJECT, { ...listen, grpcSocket: "/tmp/c/grpc.sock" }),
    ["0.0.0.0:8888", "unix:/tmp/c/grpc.sock", "127.0.0.1", "api.example.com"],
  );
  // Bound at a path of its own, then renamed to the shared one.
  assert.deepEqual(
    netGrants(PROJECT, {
      ...listen,
      grpcSocket: "/tmp/c/grpc.sock",
      grpcSocketBind: "/tmp/c/gen-2/grpc.sock",
    }),
    [
      "0.0.0.0:8888",
      "unix:/tmp/c/grpc.sock",
      "unix:/tmp/c/gen-2/grpc.sock",
      "127.0.0.1",
      "api.example.com",
    ],
  );
});

Deno.test("grpcProcessPermissionFlags(): scratch root and runtime read, the socket, the gRPC address, grpc-js env", () => {
  const flags = grpcProcessPermissionFlags(
    { hostname: "::1", grpcPort: 9000 },
    "/tmp/c",
    "/tmp/c/grpc.sock",
  );
  assert.deepEqual(flags, [
    `--allow-read=${["/tmp/c", ...RUNTIME_PATHS].join(",")}`,
    "--allow-write=/tmp/c/grpc.sock",
    "--allow-net=[::1]:9000,unix:/tmp/c/grpc.sock",
    `--allow-env=NO_COLOR,${GRPC_ENV.join(",")}`,
    "--no-prompt",
  ]);
  assert.ok(!flags.some((f) => /allow-(run|ffi|sys|all)|^-A$/.test(f)));
  assert.ok(GRPC_ENV.every((v) => SERVER_ENV.includes(v)));
});

Deno.test("moduleFlags(): no config, the supervisor's import map and lockfile, cached modules only", () => {
  const files = { importMap: "/s/import_map.json", lock: "/s/deno.lock" };
  assert.deepEqual(moduleFlags(files), [
    "--no-config",
    "--import-map=/s/import_map.json",
    "--lock=/s/deno.lock",
    "--cached-only",
  ]);
  assert.deepEqual(moduleFlags(files, { frozen: true }), [
    "--no-config",
    "--import-map=/s/import_map.json",
    "--lock=/s/deno.lock",
    "--frozen",
    "--cached-only",
  ]);
});
