import assert from "node:assert/strict";
import type { ApiConfig, Project } from "../config/resolved_config.ts";
import type { NetRules } from "../config/net_rules.ts";
import { workerPermissions } from "./permissions.ts";

const api = {
  name: "iris",
  handler: { allowNet: ["example.com:443"], env: { A: "api", B: "api" } },
} as unknown as ApiConfig;
const project = {
  dir: "/srv/iris",
  files: ["handler.ts", "models/m.bin"],
  dotenv: { A: "dotenv", C: "dotenv" },
} as unknown as Project;

const RULES: NetRules = {
  allowLoopback: false,
  ownPorts: [
    { port: 8888, what: "HTTP" },
    { port: 4000, what: "control", loopbackOnly: true },
  ],
};

Deno.test("workerPermissions() grants each project file, the scratch dir and the listener, never the control API", () => {
  const p = workerPermissions(project, api, "/tmp/s/iris-1", {
    hostname: "0.0.0.0",
    port: 8888,
  }, RULES);
  assert.deepEqual(p.read, [
    "/srv/iris/handler.ts",
    "/srv/iris/models/m.bin",
    "/tmp/s/iris-1",
  ]);
  assert.deepEqual(p.write, ["/tmp/s/iris-1"]);
  // ctx.client goes through the main thread: no grant for 127.0.0.1:4000.
  assert.deepEqual(p.net, ["example.com:443", "0.0.0.0:8888"]);
  assert.equal(p.env, false);
  assert.equal(p.run, false);
  assert.equal(p.ffi, false);
  assert.equal(p.sys, false);
});

Deno.test("workerPermissions() grants read access to the given npm package folders, and only read", () => {
  const pkg = "/deno/npm/registry.npmjs.org/onnxruntime-web/1.30.0";
  const p = workerPermissions(project, api, "/tmp/s/iris-1", null, RULES, [
    pkg,
  ]);
  assert.deepEqual(p.read, [
    "/srv/iris/handler.ts",
    "/srv/iris/models/m.bin",
    "/tmp/s/iris-1",
    pkg,
  ]);
  assert.deepEqual(p.write, ["/tmp/s/iris-1"]);
});

Deno.test("workerPermissions() brackets an IPv6 listening address", () => {
  const p = workerPermissions(project, api, "/tmp/s", {
    hostname: "::1",
    port: 9,
  }, RULES);
  assert.ok((p.net as string[]).includes("[::1]:9"));
});

Deno.test("workerPermissions() refuses allow_net entries that break the server's rules, whatever let them in", () => {
  const withNet = (allowNet: string[]) =>
    ({ ...api, handler: { ...api.handler, allowNet } }) as ApiConfig;
  for (
    const [entry, why] of [
      ["127.0.0.1", /a port is required/],
      ["127.0.0.1:5432", /loopback address.*--allow-loopback-net/],
      ["localhost:4000", /loopback address/],
      ["api.example.com:8888", /port 8888 is this server's HTTP port/],
      ["*.example.com:443", /wildcards/],
    ] as const
  ) {
    assert.throws(
      () => workerPermissions(project, withNet([entry]), "/tmp/s", null, RULES),
      (e: Error) =>
        e.message.startsWith(
          `Cannot grant API "iris" net access to "${entry}" (handler.allow_net): `,
        ) && why.test(e.message),
      entry,
    );
  }
  const loopback = { ...RULES, allowLoopback: true };
  assert.deepEqual(
    workerPermissions(
      project,
      withNet(["127.0.0.1:5432"]),
      "/tmp/s",
      null,
      loopback,
    )
      .net,
    ["127.0.0.1:5432"],
  );
  assert.throws(
    () =>
      workerPermissions(
        project,
        withNet(["127.0.0.1:4000"]),
        "/tmp/s",
        null,
        loopback,
      ),
    /port 4000 is this server's control port/,
  );
});

Deno.test("workerPermissions() grants read access to the models dir and the downloaded model files, and only read", () => {
  const withModels = {
    ...api,
    handler: {
      ...api.handler,
      models: {
        paths: [],
        dir: "models",
        cacheSize: null,
        pollIntervalMs: 10_000,
      },
    },
  } as unknown as ApiConfig;
  const cached = "/home/u/.cache/cortex/models/" + "ab".repeat(32);
  const p = workerPermissions(
    project,
    withModels,
    "/tmp/s/iris-1",
    null,
    RULES,
    [],
    [cached],
  );
  assert.deepEqual(p.read, [
    "/srv/iris/handler.ts",
    "/srv/iris/models/m.bin",
    "/tmp/s/iris-1",
    "/srv/iris/models",
    cached,
  ]);
  assert.deepEqual(p.write, ["/tmp/s/iris-1"]);
});
