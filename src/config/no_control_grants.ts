/**
 * The `handler.control` grants of an API that names none. Apart from
 * handler_config.ts so the serving process's control proxy does not load
 * the cortex.yaml parser (the YAML library costs ~35 ms of a start).
 *
 * @module
 */

import type { ControlGrants } from "./resolved_config.ts";

/** No grant: `ctx.client` may only read the status of APIs. */
export function noControlGrants(): ControlGrants {
  return {
    readEnv: [],
    logs: [],
    patch: [],
    refresh: [],
    delete: [],
    deploy: [],
  };
}
