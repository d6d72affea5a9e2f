/**
 * CORS at the edge: preflight answers and the headers of every response of
 * an API to a browser (a request with `Origin`). Pure functions.
 *
 * @module
 */

import type { CorsConfig } from "../config/resolved_config.ts";
import { DEFAULT_CORS_MAX_AGE } from "../config/edge_config.ts";

/** Cortex's policy: any origin, no credentials, `x-request-id` exposed. */
export const DEFAULT_CORS: CorsConfig = {
  allowOrigins: ["*"],
  allowHeaders: null,
  exposeHeaders: ["x-request-id"],
  allowCredentials: false,
  maxAge: DEFAULT_CORS_MAX_AGE,
};

/** Whether `origin` is allowed by `patterns` (exact, `*`, or `scheme://*.domain`). */
export function originAllowed(
  patterns: readonly string[],
  origin: string,
): boolean {
  for (const p of patterns) {
    if (p === "*" || p === origin) return true;
    const star = p.indexOf("://*.");
    if (star < 0) continue;
    const scheme = p.slice(0, star + 3);
    const suffix = p.slice(star + 4); // ".example.com[:port]"
    if (!origin.startsWith(scheme) || !origin.endsWith(suffix)) continue;
    const label = origin.slice(scheme.length, origin.length - suffix.length);
    // One or more labels, none empty: a.example.com, a.b.example.com.
    if (/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(label)) return true;
  }
  return false;
}

/** The `Access-Control-Allow-Origin` value for `origin`, or null when refused. */
function allowOrigin(cors: CorsConfig, origin: string): string | null {
  if (!originAllowed(cors.allowOrigins, origin)) return null;
  // Never "*" with credentials (Fetch standard): echo the origin instead.
  return cors.allowOrigins.includes("*") && !cors.allowCredentials
    ? "*"
    : origin;
}

/** True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(req: Request): boolean {
  return req.method === "OPTIONS" && req.headers.has("origin") &&
    req.headers.has("access-control-request-method");
}

/** The answer to a preflight: 204 with the API's methods, or 403 for an origin not allowed. */
export function preflightResponse(
  cors: CorsConfig,
  req: Request,
  methods: readonly string[],
): Response {
  const origin = req.headers.get("origin")!;
  const allowed = allowOrigin(cors, origin);
  if (allowed === null) {
    const body = JSON.stringify({
      error:
        `Origin "${origin}" is not allowed (networking.cors.allow_origins)`,
    });
    return new Response(body, {
      status: 403,
      headers: { "content-type": "application/json", vary: "Origin" },
    });
  }
  const headers = new Headers({
    "access-control-allow-origin": allowed,
    "access-control-allow-methods": methods.join(", "),
    "access-control-max-age": String(cors.maxAge),
  });
  const requested = req.headers.get("access-control-request-headers");
  if (cors.allowHeaders !== null) {
    headers.set("access-control-allow-headers", cors.allowHeaders.join(", "));
  } else if (requested) {
    headers.set("access-control-allow-headers", requested);
  }
  const vary = [
    ...(allowed === "*" ? [] : ["Origin"]),
    ...(cors.allowHeaders === null ? ["Access-Control-Request-Headers"] : []),
  ];
  if (vary.length > 0) headers.set("vary", vary.join(", "));
  if (cors.allowCredentials) {
    headers.set("access-control-allow-credentials", "true");
  }
  return new Response(null, { status: 204, headers });
}

/** Adds the CORS headers of a simple or actual request's response (`origin` set). */
export function withCorsHeaders(
  cors: CorsConfig,
  origin: string,
  res: Response,
): Response {
  const allowed = allowOrigin(cors, origin);
  if (allowed === null) return res;
  return editHeaders(res, (h) => {
    h.set("access-control-allow-origin", allowed);
    if (allowed !== "*") h.append("vary", "Origin");
    if (cors.allowCredentials) {
      h.set("access-control-allow-credentials", "true");
    }
    if (cors.exposeHeaders.length > 0) {
      h.set("access-control-expose-headers", cors.exposeHeaders.join(", "));
    }
  });
}

/** Edits a response's headers, copying them when they are immutable. */
export function editHeaders(
  res: Response,
  edit: (headers: Headers) => void,
): Response {
  try {
    edit(res.headers);
    return res;
  } catch {
    const headers = new Headers(res.headers);
    edit(headers);
    return new Response(res.body, {
      status: res.status,
      statusText: res.statusText,
      headers,
    });
  }
}
