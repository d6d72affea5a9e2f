/**
 * Answers decided before a request reaches any API, wherever it lands (a
 * replica of its API, another API's replica, the main thread), so every
 * path answers alike.
 *
 * @module
 */

import { errorResponse } from "./response.ts";

/** Methods no API serves; fetch cannot even build a Request with them. */
const FORBIDDEN_METHODS = new Set(["TRACE", "TRACK", "CONNECT"]);

/**
 * The answer to a method that no API of this server serves, or null for any
 * other: TRACE, TRACK and CONNECT, and methods that are not upper case
 * (methods are case-sensitive: "get" is not GET, and fetch would silently
 * turn it into GET when the request is handed on). 501, not 405: the server
 * supports them for no resource, so there is no Allow list to give (RFC 9110
 * 15.6.2).
 *
 * @param req the request
 * @param requestId its request id, when the answer should carry one
 */
export function unsupportedMethod(
  req: Request,
  requestId?: (req: Request) => string,
): Response | null {
  const method = req.method;
  switch (method) {
    case "GET":
    case "POST":
    case "PUT":
    case "PATCH":
    case "DELETE":
    case "HEAD":
    case "OPTIONS":
      return null;
  }
  const forbidden = FORBIDDEN_METHODS.has(method);
  const upper = method.toUpperCase();
  if (!forbidden && method === upper) return null;
  const message = forbidden
    ? `Method "${method}" is not supported by this server`
    : `Method "${method}" is not supported: methods are case-sensitive (did you mean "${upper}"?)`;
  const headers: Record<string, string> = requestId
    ? { "x-request-id": requestId(req) }
    : {};
  return errorResponse(501, message, {}, headers);
}

/**
 * The answer to a request whose body could not be read (the client cut it
 * short, e.g. a half-close before the declared length): 400, the client's
 * fault, so nothing is logged as an error.
 */
export function unreadableBody(error: unknown, requestId: string): Response {
  return errorResponse(
    400,
    `Cannot read request body: ${(error as Error)?.message ?? error}`,
    {},
    { "x-request-id": requestId },
  );
}
