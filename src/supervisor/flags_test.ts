import assert from "node:assert/strict";
import type { Project } from "../config/resolved_config.ts";
import {
  GRPC_ENV,
  grpcProcessPermissionFlags,
  netGrants,
  RUNTIME_PATHS,
  SERVER_ENV,
  serverPermissionFlags,
} from "./flags.ts";

const PROJECT = {
  dir: "/p",
  apis: [
    { handler: { allowNet: ["api.example.com:443"], protobufPath: null } },
    { handler: { allowNet: [], protobufPath: "api.proto" } },
  ],
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
    "127.0.0.1:0",
    "api.example.com:443",
  ]);
  assert.deepEqual(
    netGrants(PROJECT, { ...listen, grpcSocket: "/tmp/c/grpc.sock" }),
    [
      "0.0.0.0:8888",
      "unix:/tmp/c/grpc.sock",
      "127.0.0.1:0",
      "api.example.com:443",
    ],
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
      "127.0.0.1:0",
      "api.example.com:443",
    ],
  );
});

Deno.test("netGrants(): never loopback on every port; the control API's exact address only", () => {
  const listen = {
    hostname: "127.0.0.1",
    port: 8888,
    grpcPort: 9000,
    controlPort: 0,
  };
  const grants = netGrants(PROJECT, listen);
  // Port 0 of the control API: bind a free port, reach nothing.
  assert.ok(grants.includes("127.0.0.1:0"));
  assert.ok(!grants.some((g) => /^(127\.0\.0\.1|localhost|\[::1\])$/.test(g)));
  assert.deepEqual(
    netGrants(PROJECT, { ...listen, controlPort: 4000 }).filter((g) =>
      g.startsWith("127.0.0.1")
    ),
    ["127.0.0.1:8888", "127.0.0.1:9000", "127.0.0.1:4000"],
  );
  // An HTTP-only project does not hold the gRPC port.
  assert.deepEqual(
    netGrants({ ...PROJECT, apis: [PROJECT.apis[0]!] }, listen),
    ["127.0.0.1:8888", "127.0.0.1:0", "api.example.com:443"],
  );
});

Deno.test("netGrants(): allow_net entries that break the server's rules are left out", () => {
  const project = {
    dir: "/p",
    apis: [{
      handler: {
        protobufPath: null,
        allowNet: [
          "db.example.com:5432",
          "127.0.0.1:5432",
          "localhost:6379",
          "127.0.0.1:4000",
          "10.0.0.1:8888",
          "127.0.0.1",
        ],
      },
    }],
  } as unknown as Project;
  const listen = {
    hostname: "0.0.0.0",
    port: 8888,
    grpcPort: 9000,
    controlPort: 4000,
  };
  assert.deepEqual(netGrants(project, listen), [
    "0.0.0.0:8888",
    "127.0.0.1:4000",
    "db.example.com:5432",
  ]);
  assert.deepEqual(
    netGrants(project, { ...listen, allowLoopbackNet: true }),
    [
      "0.0.0.0:8888",
      "127.0.0.1:4000",
      "db.example.com:5432",
      "127.0.0.1:5432",
      "localhost:6379",
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

Deno.test("serverPermissionFlags(): the trace collector's address is granted exactly, and the OTEL_* variables readable", () => {
  const listen = {
    hostname: "0.0.0.0",
    port: 8888,
    grpcPort: 9000,
    controlPort: null,
  };
  const project = {
    ...PROJECT,
    apis: PROJECT.apis.map((a) => ({ ...a, networking: {} })),
  } as unknown as Project;
  const flags = serverPermissionFlags(project, listen, "/s", [], [
    "127.0.0.1:4318",
  ]);
  const net = flags.find((f) => f.startsWith("--allow-net="))!.split("=")[1]!
    .split(",");
  assert.ok(net.includes("127.0.0.1:4318"));
  assert.ok(!net.includes("127.0.0.1"));
  const env = flags.find((f) => f.startsWith("--allow-env="))!;
  for (
    const name of ["OTEL_DENO", "OTEL_EXPORTER_OTLP_ENDPOINT", "CORTEX_TRACES"]
  ) {
    assert.ok(env.includes(name), name);
  }
  assert.ok(SERVER_ENV.includes("OTEL_SERVICE_NAME"));
  // Without tracing, no collector.
  const off = serverPermissionFlags(project, listen, "/s");
  assert.ok(!off.some((f) => f.includes("4318")));
});
