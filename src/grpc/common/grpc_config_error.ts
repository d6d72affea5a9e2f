/**
 * The error for a gRPC API that cannot be served as configured.
 *
 * @module
 */

/**
 * A `.proto` that does not compile, does not define exactly one service, or
 * clashes with another API. The message says what to fix; the API fails to
 * start.
 *
 * @example
 * ```ts
 * import { GrpcConfigError } from "./grpc_config_error.ts";
 *
 * const err = new GrpcConfigError('Cannot compile "echo.proto": echo.proto:3:1:syntax error');
 * console.assert(err.name === "GrpcConfigError");
 * ```
 */
export class GrpcConfigError extends Error {
  /** @param message what is wrong, per the project's message rules */
  constructor(message: string) {
    super(message);
    this.name = "GrpcConfigError";
  }
}
