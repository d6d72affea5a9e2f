/**
 * Types that handler authors use in gRPC handler methods.
 *
 * @module
 */

/**
 * The second argument of every gRPC handler method.
 *
 * @example A unary method that reads metadata and sets a trailer
 * ```ts
 * import type { GrpcCallInfo } from "./call_info.ts";
 *
 * export class Handler {
 *   Predict(payload: { text: string }, info: GrpcCallInfo) {
 *     info.setTrailer("x-model", "v1");
 *     const user = info.metadata["x-user"] ?? "anonymous";
 *     return { text: `${user}: ${payload.text}` };
 *   }
 * }
 * ```
 */
export interface GrpcCallInfo {
  /** Full service name, e.g. `echo.v1.Echo`. */
  readonly service: string;
  /** RPC name as in the `.proto`, e.g. `Predict`. */
  readonly method: string;
  /** Request metadata; values of `-bin` keys are base64 strings. */
  readonly metadata: Readonly<Record<string, string | string[]>>;
  /**
   * Aborted when the client cancels or the deadline passes; its `reason` is
   * a `GrpcError` with code `CANCELLED` or `DEADLINE_EXCEEDED`.
   */
  readonly signal: AbortSignal;
  /**
   * The call's deadline: the earlier of the client's and
   * `handler.request_timeout` (null only outside a server, e.g. in tests).
   */
  readonly deadline: Date | null;
  /** The request id (the client's `x-request-id`, or a new one). */
  readonly requestId: string;
  /**
   * Adds response header metadata. Throws once the first response message or
   * the status has been sent.
   */
  setHeader(key: string, value: string): void;
  /** Adds trailing metadata, sent with the status. */
  setTrailer(key: string, value: string): void;
}
