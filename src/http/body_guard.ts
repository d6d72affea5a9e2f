/**
 * Request-body limits where a request lands on the main thread (or is handed
 * on by a replica): `/healthz` and `/metrics` take no body, and a request
 * for an API is held to that API's `handler.max_body_size` (declared length
 * before reading, streamed length while reading) and `handler.request_timeout`
 * (the whole body must arrive within it).
 *
 * @module
 */

import { errorResponse } from "./response.ts";

/** Bodies the no-body endpoints (/healthz, /metrics) still accept as noise. */
export const NO_BODY_LIMIT = 1024;

/** The declared Content-Length, or null when there is none (or it is bad). */
function declaredLength(req: Request): number | null {
  const header = req.headers.get("content-length");
  if (header === null) return null;
  const n = Number(header);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** Answers that end the connection: the unread body is not worth draining. */
function closing(status: number, message: string): Response {
  return errorResponse(status, message, {}, { connection: "close" });
}

/**
 * For an endpoint that takes no body: a 413 when the request declares more
 * than {@linkcode NO_BODY_LIMIT} bytes, else the request without its body
 * (never read: the HTTP server drains or drops it once answered).
 */
export function withoutBody(req: Request): Request | Response {
  const length = declaredLength(req);
  if (length !== null && length > NO_BODY_LIMIT) {
    return closing(
      413,
      `${
        new URL(req.url).pathname
      } takes no request body (${length} bytes declared)`,
    );
  }
  if (length === 0 || req.body === null) return req;
  return new Request(req.url, {
    method: req.method,
    headers: req.headers,
    signal: req.signal,
  });
}

/** Limits of {@linkcode guardBody}. */
export interface BodyLimits {
  /** `handler.max_body_size` of the API the request is for. */
  maxBytes: number;
  /** `handler.request_timeout` of that API: the body must arrive within it. */
  timeoutMs: number;
  /** Named in the 413 and 408 messages. */
  api: string;
}

/** A request whose body is held to limits, and how to answer if it broke one. */
export interface GuardedBody {
  request: Request;
  /**
   * The answer to send: a 413 or 408 when the body broke a limit while it
   * was read (the reader then failed), else `res` itself.
   */
  verdict(res: Response): Response;
}

/**
 * Checks the declared length (413 at once, nothing read) and wraps the body
 * so reading it fails once more than `maxBytes` arrive or once `timeoutMs`
 * have passed without the whole body. A request without a body is returned
 * as it is.
 */
export function guardBody(
  req: Request,
  limits: BodyLimits,
): GuardedBody | Response {
  const { maxBytes, timeoutMs, api } = limits;
  const tooLarge = () =>
    closing(
      413,
      `Request body is larger than the limit of ${maxBytes} bytes (handler.max_body_size of API "${api}")`,
    );
  const length = declaredLength(req);
  if (length !== null && length > maxBytes) return tooLarge();
  if (req.body === null || length === 0) {
    return { request: req, verdict: (res) => res };
  }
  let broke: "size" | "time" | null = null;
  let seen = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const source = req.body;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setTimeout(() => {
        broke = "time";
        controller.error(new RangeError("Request body timed out"));
        void reader?.cancel().catch(() => {});
      }, timeoutMs);
    },
    async pull(controller) {
      reader ??= source.getReader();
      try {
        const { value, done } = await reader.read();
        if (broke) return;
        if (done) {
          clearTimeout(timer);
          controller.close();
          return;
        }
        seen += value.byteLength;
        if (seen > maxBytes) {
          broke = "size";
          clearTimeout(timer);
          controller.error(new RangeError("Request body is over the limit"));
          void reader.cancel().catch(() => {});
          return;
        }
        controller.enqueue(value);
      } catch (error) {
        clearTimeout(timer);
        if (!broke) controller.error(error);
      }
    },
    cancel(reason) {
      clearTimeout(timer);
      return (reader ?? source).cancel(reason);
    },
  });
  const request = new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body,
    signal: req.signal,
  });
  return {
    request,
    verdict(res) {
      clearTimeout(timer);
      if (broke === "size") return tooLarge();
      if (broke === "time") {
        return closing(
          408,
          `The request body did not arrive within ${timeoutMs} ms (handler.request_timeout of API "${api}")`,
        );
      }
      return res;
    },
  };
}
