/**
 * Small response and body helpers of the control API.
 *
 * @module
 */

import { ConfigError, formatIssue } from "../config/config_error.ts";
import { ControlError } from "./client.ts";

/** Largest JSON body accepted (a cortex.yaml is far smaller). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A JSON response. */
export function json(
  status: number,
  body: unknown,
  headers: HeadersInit = {},
): Response {
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  h.set("cache-control", "no-store");
  return new Response(JSON.stringify(body) + "\n", { status, headers: h });
}

/** An error response `{"error": message}`. */
export function fail(
  status: number,
  message: string,
  headers: HeadersInit = {},
): Response {
  return json(status, { error: message }, headers);
}

/**
 * Reads a JSON object body, at most {@linkcode MAX_BODY_BYTES}.
 *
 * @throws {ControlError} 400 for bad JSON or a non-object, 413 when too large.
 */
export async function readJsonObject(
  req: Request,
): Promise<Record<string, unknown>> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) throw tooLarge();
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder().decode(bytes) || "null");
  } catch (error) {
    throw new ControlError(
      400,
      `Cannot parse the request body as JSON: ${(error as Error).message}`,
    );
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ControlError(
      400,
      "Cannot use the request body: expected a JSON object",
    );
  }
  return data as Record<string, unknown>;
}

function tooLarge(): ControlError {
  return new ControlError(413, `Request body is over ${MAX_BODY_BYTES} bytes`);
}

/** Maps anything thrown by an operation to a response. */
export function errorToResponse(error: unknown): Response {
  if (error instanceof ConfigError) {
    return json(400, {
      error: error.message,
      issues: error.issues.map(formatIssue),
    });
  }
  if (error instanceof ControlError) {
    return json(error.status || 500, {
      error: error.message,
      ...(error.issues.length > 0 ? { issues: error.issues } : {}),
    });
  }
  if (error instanceof Deno.errors.NotFound) {
    return fail(404, (error as Error).message);
  }
  const message = error instanceof Error ? error.message : String(error);
  return fail(500, `Control operation failed: ${message}`);
}
