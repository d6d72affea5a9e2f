/**
 * The environment a handler sees (`Deno.env`, `process.env`): the project's
 * `.env`, then the API's `handler.env`, then the runtime's `CORTEX_*`
 * variables. One rule for replicas (src/server/replica_pool.ts) and the
 * in-process harness (src/testing/handler_harness.ts).
 *
 * @module
 */

import type { ApiConfig, Project } from "./resolved_config.ts";

/** The environment a handler sees: .env, then handler.env, then CORTEX_*. */
export function handlerEnv(
  project: Project,
  api: ApiConfig,
  runtime: Record<string, string>,
): Record<string, string> {
  return { ...project.dotenv, ...api.handler.env, ...runtime };
}
