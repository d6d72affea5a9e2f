/**
 * Cortex for Deno: serve realtime APIs written as TypeScript `Handler`
 * classes. This module holds what handler authors import: the types of the
 * constructor and method arguments, the errors that set a status, and the
 * client for a running server.
 *
 * @example A handler
 * ```ts
 * import { HttpError, type HandlerContext, type RequestInfo } from "cortex";
 *
 * export class Handler {
 *   constructor(config: Record<string, unknown>, ctx: HandlerContext) {}
 *   handlePost(payload: unknown, req: RequestInfo) {
 *     if (payload === undefined) throw new HttpError(400, "Send a JSON body");
 *     return { ok: true, requestId: req.requestId };
 *   }
 * }
 * ```
 *
 * @module
 */

export type {
  ApiInfo,
  HandlerContext,
  HandlerLogger,
  MetricsClient,
  ModelsClient,
  RequestInfo,
} from "./src/handler/handler_context.ts";
export { HttpError } from "./src/errors/http_error.ts";
export { Code, GrpcError } from "./src/grpc/common/grpc_error.ts";
export type { GrpcCallInfo } from "./src/grpc/common/call_info.ts";
export { ControlError, CortexClient } from "./src/control/client.ts";
export type {
  ApiDescription,
  CallInit,
  DeployResult,
  DeploySpec,
} from "./src/control/client.ts";
export {
  type HandlerHarness,
  loadHandler,
  type LoadHandlerOptions,
} from "./src/testing/handler_harness.ts";
