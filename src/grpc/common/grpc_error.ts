/**
 * gRPC status codes and the error a handler throws to set the status of a
 * call.
 *
 * @module
 */

/**
 * gRPC status codes, as in `grpc/status.proto`.
 *
 * @example Reject a request
 * ```ts
 * import { Code, GrpcError } from "./grpc_error.ts";
 *
 * const err = new GrpcError(Code.NOT_FOUND, 'Model "x" does not exist');
 * console.assert(err.code === 5);
 * ```
 */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

const BRAND = Symbol.for("cortex.GrpcError");

/**
 * An error that ends a gRPC call with a chosen status code, message and
 * trailing metadata. Any other error thrown by a handler ends the call with
 * `INTERNAL` and a generic message.
 *
 * `instanceof GrpcError` also accepts errors built by another copy of this
 * module (for instance inside a replica Worker): it checks a brand, or the
 * name `"GrpcError"` together with a numeric `code`.
 *
 * @example Throw from a handler method
 * ```ts
 * import { Code, GrpcError } from "./grpc_error.ts";
 *
 * class Handler {
 *   Predict(payload: { text: string }) {
 *     if (payload.text === "") {
 *       throw new GrpcError(Code.INVALID_ARGUMENT, "Field \"text\" is empty", {
 *         "x-field": "text",
 *       });
 *     }
 *     return { text: payload.text };
 *   }
 * }
 * new Handler();
 * ```
 */
export class GrpcError extends Error {
  /** The gRPC status code sent to the client. */
  readonly code: Code;
  /** Trailing metadata sent with the status. */
  readonly metadata: Record<string, string>;

  /**
   * Creates an error that ends the call with `code` and `message`.
   *
   * @param code the status code of the call
   * @param message the status message the client sees
   * @param metadata trailing metadata sent with the status
   */
  constructor(code: Code, message: string, metadata?: Record<string, string>) {
    super(message);
    this.name = "GrpcError";
    this.code = code;
    this.metadata = { ...metadata };
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Recognises errors from any copy of this class (see the class doc). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== GrpcError) {
      return Function.prototype[Symbol.hasInstance].call(this, value);
    }
    return isGrpcError(value);
  }
}

/**
 * Tells whether `value` is a {@linkcode GrpcError}, from this module or any
 * other copy of it.
 *
 * @param value anything caught
 * @returns true when `value` carries a gRPC status code
 */
export function isGrpcError(value: unknown): value is GrpcError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string | symbol, unknown>;
  if (v[BRAND] === true) return true;
  return v.name === "GrpcError" && typeof v.code === "number" &&
    typeof v.message === "string";
}

/**
 * Returns `code` when it is a valid non-OK status code, else `UNKNOWN`.
 *
 * @param code a code from an untrusted error
 * @returns a code to send to the client
 */
export function errorCode(code: number): Code {
  return Number.isInteger(code) && code > 0 && code <= 16
    ? code as Code
    : Code.UNKNOWN;
}
