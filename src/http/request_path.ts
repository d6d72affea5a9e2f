/**
 * The one normalization of request paths, applied before routing by every
 * listener (a replica's own `Deno.serve`, the main thread's fallback
 * listener, and the main-thread router for forwarded requests), so a path
 * routes to the same API whichever listener takes the connection.
 *
 * Deno.serve does not normalize the request target (measured with Deno 2.9.6
 * and a raw TCP client): `GET /bad/../good` gives `req.url` ===
 * `"http://host/bad/../good"`, and likewise `//x`, `/a/./b`, `/%2e%2e/x`,
 * `/bad\..\good` and an absolute-form target (`GET http://evil/p`) come
 * through as sent. `new URL(req.url).pathname` resolves the dot segments
 * (also `%2e`, and `\` as `/`) but keeps `//`; slicing the string resolves
 * nothing. Routing by one or the other sent `/bad/../good` to `bad` on one
 * listener and to `good` on the other.
 *
 * The rule here: `\` is `/`; empty segments are dropped (`//x` is `/x`);
 * `.` and `..` segments, also written `%2e` in any case, are resolved, with
 * `..` never going above `/`; a trailing `/` stays (also after a dot
 * segment, as in URL parsing: `/a/b/..` is `/a/`); other percent-escapes are
 * kept as sent (`%2f` does not become a separator); characters the URL
 * parser would escape (non-ASCII, controls, space, `"<>` and backtick,
 * braces) are percent-encoded as UTF-8.
 *
 * @module
 */

/** Anything that can make a path differ from its normalized form. */
const SUSPECT = /[%\\]|\/\/|\/\.|[^\x21-\x7e]|["<>`{}]/;

/** A `.` segment (`.` or `%2e`). */
const DOT = /^(?:\.|%2e)$/i;
/** A `..` segment (`..`, `.%2e`, `%2e.`, `%2e%2e`). */
const DOT_DOT = /^(?:\.|%2e){2}$/i;

/** Characters escaped in a path segment, as the URL parser does. */
const ESCAPE = /[^\x21-\x7e]|["<>`{}]/gu;

/** Percent-encodes `ch` as UTF-8. */
function escape(ch: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(ch)) {
    out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Normalizes a request path (the part of the target before `?` and `#`).
 * Returns `path` itself when it is already normal, the common case.
 *
 * @example
 * ```ts
 * import { normalizePath } from "./request_path.ts";
 * normalizePath("/bad/../good"); // "/good"
 * normalizePath("//x"); // "/x"
 * normalizePath("/hello/%2E%2e/other"); // "/other"
 * ```
 */
export function normalizePath(path: string): string {
  if (!SUSPECT.test(path) && path.startsWith("/")) return path;
  const segments = path.replaceAll("\\", "/").split("/");
  const out: string[] = [];
  let trailing = false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === "" || DOT.test(segment)) {
      trailing = last && out.length > 0;
    } else if (DOT_DOT.test(segment)) {
      out.pop();
      trailing = last && out.length > 0;
    } else {
      out.push(segment.replace(ESCAPE, escape));
      trailing = false;
    }
  }
  return "/" + out.join("/") + (trailing ? "/" : "");
}

/**
 * Where the path of a request URL string starts and ends: after the
 * authority, up to `?` or `#` (an empty range when there is no path).
 */
function pathBounds(url: string): [number, number] {
  const scheme = url.indexOf("//");
  let start = scheme === -1 ? 0 : scheme + 2;
  while (start < url.length) {
    const c = url.charCodeAt(start);
    if (c === 0x2f) break; // "/"
    if (c === 0x3f || c === 0x23) return [start, start]; // "?" "#"
    start++;
  }
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 0x3f || c === 0x23) break;
    end++;
  }
  return [start, end];
}

/** The normalized path of a request URL string (`req.url`). */
export function requestPath(url: string): string {
  const [start, end] = pathBounds(url);
  return start === end ? "/" : normalizePath(url.slice(start, end));
}

/**
 * `req` with its path normalized: `req` itself when the path already is
 * (no copy on the common path), else a new Request with the same method,
 * headers, body and signal whose URL has the normalized path.
 */
export function normalizedRequest(req: Request): Request {
  const url = req.url;
  const [start, end] = pathBounds(url);
  const path = url.slice(start, end);
  const normal = start === end ? "/" : normalizePath(path);
  if (normal === path) return req;
  return new Request(url.slice(0, start) + normal + url.slice(end), req);
}

/** A route: requests at `endpoint` or below it go to `api`. */
export interface PathRoute {
  endpoint: string;
  api: string;
}

/** The route serving a normalized path (exact endpoint or below it), or null. */
export function routeFor<R extends PathRoute>(
  routes: readonly R[],
  path: string,
): R | null {
  for (const route of routes) {
    const { endpoint } = route;
    if (
      path === endpoint || endpoint === "/" || path.startsWith(endpoint + "/")
    ) return route;
  }
  return null;
}
