/**
 * `fetch("http://api-<name>:8888/...")` from a handler reaches the API of that
 * name inside this server, with no DNS and no network hop, so code written
 * for a cluster (where `api-<name>` is a Service) runs unchanged.
 *
 * @module
 */

import { explainPermissionError } from "../errors/permission_hints.ts";
import {
  childTraceparent,
  isSampled,
  parseTraceparent,
} from "../edge/trace.ts";
import type { SpanRecorder } from "../trace/recorder.ts";
import { SpanKind, traceparentOf } from "../trace/span.ts";

/** Port of the in-cluster API Services. */
export const CHAIN_PORT = "8888";

/** The API a URL addresses (`api-<name>` on port 8888 or no port), or null. */
export function chainTarget(url: URL): string | null {
  if (url.protocol !== "http:") return null;
  if (url.port !== CHAIN_PORT && url.port !== "") return null;
  const match = /^api-([a-z0-9]([a-z0-9-]*[a-z0-9])?)$/.exec(url.hostname);
  return match ? match[1]! : null;
}

/** Where chained requests go. */
export interface ChainRouter {
  apiNames: ReadonlySet<string>;
  /** Sends the request to API `api`; resolves with its response. */
  call(api: string, req: Request): Promise<Response>;
  /** The current request's id, forwarded as `x-request-id`. */
  requestId(): string | undefined;
  /** The current request's `traceparent`, passed on with a new parent id. */
  traceparent?(): string | undefined;
  /** Records a client span per call when tracing is on. */
  tracer?: SpanRecorder;
}

/** Returns a fetch that routes `api-<name>` URLs through `router`. */
export function chainingFetch(
  router: ChainRouter,
  base: typeof fetch,
): typeof fetch {
  return async function fetch(
    input: RequestInfo | URL,
    init?: RequestInit,
  ): Promise<Response> {
    const req = new Request(input, init);
    const api = chainTarget(new URL(req.url));
    if (api === null) {
      try {
        return await base(req);
      } catch (error) {
        throw explainPermissionError(error);
      }
    }
    if (!router.apiNames.has(api)) {
      throw new TypeError(
        `error sending request for url (${req.url}): dns error: failed to lookup address "api-${api}": no API named "${api}" is served here`,
      );
    }
    const requestId = router.requestId();
    if (requestId && !req.headers.has("x-request-id")) {
      req.headers.set("x-request-id", requestId);
    }
    // A traceparent the handler set itself is the parent it chose.
    const trace = parseTraceparent(
      req.headers.get("traceparent") ?? router.traceparent?.(),
    );
    if (router.tracer === undefined || (trace && !isSampled(trace))) {
      if (trace && !req.headers.has("traceparent")) {
        req.headers.set("traceparent", childTraceparent(trace));
      }
      return await router.call(api, req);
    }
    const span = router.tracer.start(
      `${req.method} api-${api}`,
      SpanKind.CLIENT,
      trace,
      { "http.request.method": req.method, "cortex.target_api": api },
    );
    req.headers.set("traceparent", traceparentOf(span));
    try {
      const res = await router.call(api, req);
      span.set("http.response.status_code", res.status);
      span.end(res.status >= 500 ? `HTTP ${res.status}` : undefined);
      return res;
    } catch (error) {
      span.end((error as Error)?.message ?? String(error));
      throw error;
    }
  };
}
