import assert from "node:assert/strict";
import type { ApiConfig, Project } from "./resolved_config.ts";
import { handlerEnv } from "./handler_env.ts";

Deno.test("handlerEnv() layers .env, then handler.env, then the runtime's variables", () => {
  const api = {
    name: "iris",
    handler: { env: { A: "api", B: "api" } },
  } as unknown as ApiConfig;
  const project = {
    dotenv: { A: "dotenv", C: "dotenv" },
  } as unknown as Project;
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
