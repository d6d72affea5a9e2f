/**
 * The edge checks of one API: CORS, API keys and rate limits, the same
 * wherever a client's request enters the server (a replica's own listener,
 * src/replica/runtime.ts `route`; the serving process's router,
 * src/server/main_router.ts `route`; gRPC admission,
 * src/server/grpc_backend.ts). Requests already admitted and passed between
 * processes (hand-offs, chained calls) are not checked again.
 *
 * Order: a CORS preflight is answered first (browsers send it without
 * credentials), then the key (401), then the rate limit (429). Every response
 * of the API to a browser gets the CORS headers, refusals included.
 *
 * @module
 */

import type {
  ApiConfig,
  CorsConfig,
  RateLimitConfig,
} from "../config/resolved_config.ts";
import {
  DEFAULT_CORS,
  isPreflight,
  preflightResponse,
  withCorsHeaders,
} from "./cors.ts";
import {
  type KeyHash,
  type KeyMatcher,
  presentedKey,
} from "./presented_key.ts";

/** What a replica needs to run an API's edge checks (plain data; hashes only). */
export interface EdgeInit {
  /** null: CORS off (`networking.cors: false`). */
  cors: CorsConfig | null;
  /** null: no key needed. */
  keys: KeyHash[] | null;
  /** Methods that need a key (upper case); null: every method. */
  authMethods: string[] | null;
  rate: RateLimitConfig | null;
}

/** An API's edge settings, with the keys loaded by the serving process. */
export function edgeInit(api: ApiConfig, keys: KeyHash[] | null): EdgeInit {
  const n = api.networking;
  return {
    cors: n.cors === false ? null : n.cors ?? DEFAULT_CORS,
    keys: n.auth ? keys ?? [] : null,
    authMethods: n.auth?.methods ?? null,
    rate: n.rateLimit ?? null,
  };
}

/** Takes a token of bucket `key`: 0 when admitted, else seconds to wait. */
export type Take = (bucket: string) => number | Promise<number>;

/** Why a request or call is refused. */
export type Refusal =
  | { reason: "unauthorized"; message: string; invalid: boolean }
  | { reason: "rate_limited"; message: string; retryAfter: number };

/** gRPC status codes of refusals. */
export const GRPC_CODE = { unauthorized: 16, rate_limited: 8 } as const;

/** One API's edge. */
export class Edge {
  readonly api: string;
  readonly init: EdgeInit;
  readonly #take: Take;
  readonly #match: KeyMatcher | null;
  /** Whether every request is checked (keys or a rate limit). */
  readonly #gated: boolean;

  /**
   * @param match Compares a presented key with the hashes: `matchKey` of
   *   `keys.ts`, passed in so an edge without keys never loads
   *   `node:crypto`. Required when `init.keys` is set.
   */
  constructor(
    api: string,
    init: EdgeInit,
    take: Take,
    match: KeyMatcher | null = null,
  ) {
    if (init.keys !== null && match === null) {
      throw new TypeError(`The edge of API "${api}" has keys but no matcher`);
    }
    this.api = api;
    this.init = init;
    this.#take = take;
    this.#match = match;
    this.#gated = init.keys !== null || init.rate !== null;
  }

  /**
   * Whether `req` needs the edge at all: always with keys or a rate limit;
   * with CORS alone only a browser's request (Origin) or a preflight. An API
   * with no edge options pays one header lookup per request.
   */
  needed(req: Request): boolean {
    return this.#gated ||
      (this.init.cors !== null &&
        (req.method === "OPTIONS" || req.headers.has("origin")));
  }

  /**
   * Checks a request of the API from a client at address `client`: a
   * preflight answer or a refusal, or null to serve it. `methods` are the
   * API's allowed methods (for preflights).
   */
  check(
    req: Request,
    client: string,
    methods: () => readonly string[],
  ): Response | null | Promise<Response | null> {
    const { cors } = this.init;
    if (cors !== null && req.method === "OPTIONS" && isPreflight(req)) {
      return preflightResponse(cors, req, methods());
    }
    if (!this.#gated) return null;
    const method = req.method === "HEAD" ? "GET" : req.method;
    const refusal = this.admit(method, (h) => req.headers.get(h), client);
    if (refusal === null) return null;
    if (refusal instanceof Promise) {
      return refusal.then((r) => r && this.#refuse(r));
    }
    return this.#refuse(refusal);
  }

  /**
   * Checks a key and takes a token. `get` reads a request header or gRPC
   * metadata entry (lower-case names).
   */
  admit(
    method: string,
    get: (name: string) => string | null | undefined,
    client: string,
  ): Refusal | null | Promise<Refusal | null> {
    const { keys, authMethods, rate } = this.init;
    let label = "anonymous";
    if (keys !== null && (authMethods?.includes(method) ?? true)) {
      const key = presentedKey(get);
      const found = key === null ? null : this.#match!(keys, key);
      if (found === null) {
        return {
          reason: "unauthorized",
          invalid: key !== null,
          message: key === null
            ? `API "${this.api}" requires an API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"`
            : `The API key is not valid for API "${this.api}"`,
        };
      }
      label = found;
    }
    if (rate === null) return null;
    const bucket = rate.per === "api"
      ? "api"
      : rate.per === "key"
      ? `key:${label}`
      : `client:${client}`;
    const wait = this.#take(bucket);
    return typeof wait === "number"
      ? this.#limited(wait)
      : wait.then((w) => this.#limited(w));
  }

  #limited(wait: number): Refusal | null {
    if (wait <= 0) return null;
    const rate = this.init.rate!;
    return {
      reason: "rate_limited",
      retryAfter: Math.max(1, Math.ceil(wait)),
      message:
        `API "${this.api}" is over its rate limit of ${rate.rps} requests per second${
          rate.per === "api" ? "" : ` per ${rate.per}`
        } (networking.rate_limit)`,
    };
  }

  #refuse(r: Refusal): Response {
    const body = JSON.stringify({ error: r.message });
    const headers: Record<string, string> = {
      "content-type": "application/json",
    };
    if (r.reason === "unauthorized") {
      headers["www-authenticate"] = `Bearer realm="${this.api}"${
        r.invalid ? ', error="invalid_token"' : ""
      }`;
    } else {
      headers["retry-after"] = String(r.retryAfter);
    }
    return new Response(body, {
      status: r.reason === "unauthorized" ? 401 : 429,
      headers,
    });
  }

  /** Adds the CORS headers to a response of the API to a browser. */
  finish(req: Request, res: Response): Response {
    const cors = this.init.cors;
    if (cors === null) return res;
    const origin = req.headers.get("origin");
    return origin === null ? res : withCorsHeaders(cors, origin, res);
  }
}

/** The verbs a handler's method names serve (`handlePost`, `handle_get`), HEAD with GET. */
export function verbsOf(names: readonly string[]): string[] {
  const verbs: string[] = [];
  for (const verb of ["POST", "GET", "PUT", "PATCH", "DELETE"]) {
    const lower = verb.toLowerCase();
    if (
      names.includes(`handle${verb[0]}${lower.slice(1)}`) ||
      names.includes(`handle_${lower}`)
    ) verbs.push(verb);
  }
  if (verbs.includes("GET") || names.includes("handleHead")) verbs.push("HEAD");
  return verbs;
}
