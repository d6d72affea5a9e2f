/**
 * The serving process's edges, one per API: keys loaded once per API
 * config (from the environment or the keys file; only hashes kept), and the
 * API's rate limiter, shared by every place that admits its requests (this
 * process's router, gRPC admission, and replicas' listeners through
 * `edge.take` messages).
 *
 * @module
 */

import type { ApiConfig } from "../config/resolved_config.ts";
import { Edge, type EdgeInit, edgeInit } from "../edge/edge.ts";
import { type KeyHash, loadKeys, matchKey } from "../edge/keys.ts";
import { RateLimiter } from "../edge/rate_limit.ts";
import type { Logger } from "../log/logger.ts";

interface Entry {
  api: ApiConfig;
  edge: Edge;
  limiter: RateLimiter | null;
}

/** Edges by API name, rebuilt when an API's config object changes. */
export class Edges {
  readonly #entries = new Map<string, Entry>();
  readonly #projectDir: () => string;
  readonly #logger: Logger;

  constructor(projectDir: () => string, logger: Logger) {
    this.#projectDir = projectDir;
    this.#logger = logger;
  }

  /**
   * The edge of `api`. Keys that cannot be loaded throw on the first call
   * (at start, so serve stops); on a later reload they leave the API closed
   * (no key accepted) and log why.
   */
  of(api: ApiConfig, strict = false): Edge {
    const found = this.#entries.get(api.name);
    if (found?.api === api) return found.edge;
    let keys: KeyHash[] | null = null;
    if (api.networking.auth) {
      try {
        keys = loadKeys(api.networking.auth, this.#projectDir(), api.name);
      } catch (error) {
        if (strict) throw error;
        this.#logger.error(
          `API "${api.name}" accepts no key until fixed: ${
            (error as Error).message
          }`,
        );
        keys = [];
      }
    }
    // A changed API keeps its buckets when its limit is unchanged.
    const rate = api.networking.rateLimit;
    const same = found && rate &&
      JSON.stringify(found.api.networking.rateLimit) === JSON.stringify(rate);
    const limiter = same ? found.limiter : rate ? new RateLimiter(rate) : null;
    const edge = new Edge(
      api.name,
      edgeInit(api, keys),
      (bucket) => limiter?.take(bucket) ?? 0,
      matchKey,
    );
    this.#entries.set(api.name, { api, edge, limiter });
    return edge;
  }

  /** What a listening replica of `api` gets. */
  initOf(api: ApiConfig): EdgeInit {
    return this.of(api).init;
  }

  /** A token for a replica of API `name` (0 when it has no limit). */
  take(name: string, bucket: string): number {
    return this.#entries.get(name)?.limiter?.take(bucket) ?? 0;
  }

  forget(name: string): void {
    this.#entries.delete(name);
  }
}
