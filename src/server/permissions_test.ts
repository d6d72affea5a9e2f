import assert from "node:assert/strict";
import type { ApiConfig, Project } from "../config/types.ts";
import { handlerEnv, workerPermissions } from "./permissions.ts";

const api = {
  name: "iris",
  handler: { allowNet: ["example.com:443"], env: { A: "api", B: "api" } },
} as unknown as ApiConfig;
const project = {
  dir: "/srv/iris",
  files: ["handler.ts", "models/m.bin"],
  dotenv: { A: "dotenv", C: "dotenv" },
} as unknown as Project;

Deno.test("workerPermissions() grants each project file, the scratch dir and the listener", () => {
  const p = workerPermissions(project, api, "/tmp/s/iris-1", {
    hostname: "0.0.0.0",
    port: 8888,
  }, { url: "http://127.0.0.1:4000" });
  assert.deepEqual(p.read, [
    "/srv/iris/handler.ts",
    "/srv/iris/models/m.bin",
    "/tmp/s/iris-1",
  ]);
  assert.deepEqual(p.write, ["/tmp/s/iris-1"]);
  assert.deepEqual(p.net, [
    "example.com:443",
    "0.0.0.0:8888",
    "127.0.0.1:4000",
  ]);
  assert.equal(p.env, false);
  assert.equal(p.run, false);
  assert.equal(p.ffi, false);
  assert.equal(p.sys, false);
});

Deno.test("workerPermissions() brackets an IPv6 listening address", () => {
  const p = workerPermissions(project, api, "/tmp/s", {
    hostname: "::1",
    port: 9,
  });
  assert.ok((p.net as string[]).includes("[::1]:9"));
});

Deno.test("handlerEnv() layers .env, then handler.env, then the runtime's variables", () => {
  assert.deepEqual(
    handlerEnv(project, api, { CORTEX_API_NAME: "iris", B: "runtime" }),
    {
      A: "api",
      B: "runtime",
      C: "dotenv",
      CORTEX_API_NAME: "iris",
    },
  );
});
