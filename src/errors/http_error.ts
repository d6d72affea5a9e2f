/**
 * The error handler authors throw to answer with a specific HTTP status.
 *
 * @module
 */

const BRAND = Symbol.for("cortex.HttpError");

/**
 * Thrown by a handler to answer with `status` and `message` instead of a 500.
 *
 * @example Reject a request
 * ```ts
 * import { HttpError } from "cortex";
 *
 * function handlePost(payload: unknown) {
 *   if (typeof payload !== "object") throw new HttpError(422, "Expected a JSON object");
 *   return { ok: true };
 * }
 * handlePost({});
 * ```
 */
export class HttpError extends Error {
  /** HTTP status code, 400-599. */
  readonly status: number;
  /** Extra response headers. */
  readonly headers: Record<string, string>;

  /**
   * Creates an error answered with `status` and `{"error": message}`.
   *
   * @param status HTTP status, 400-599
   * @param message Sent to the client as `{"error": message}`
   * @param options Extra response headers and the cause (kept for the log)
   */
  constructor(
    status: number,
    message: string,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(
        `Cannot create HttpError with status "${status}": expected 400-599`,
      );
    }
    this.name = "HttpError";
    this.status = status;
    this.headers = options.headers ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Recognises HttpErrors from any copy of this module (e.g. inside a worker). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null &&
      (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
