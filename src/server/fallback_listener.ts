/**
 * The main thread's own listener on the HTTP port. It holds the port while no
 * replica listens (start-up, gRPC-only projects, every replica down), so
 * /healthz and /metrics always answer; replicas take over with `reusePort`.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
import { errorResponse } from "../http/response.ts";
import {
  type ConnectionLimits,
  type ConnectionStats,
  DEFAULT_LIMITS,
  type GuardedServer,
  serveGuarded,
} from "../http/guarded_server.ts";

/** Opens and closes the main-thread listener on demand. */
export class FallbackListener {
  #server: GuardedServer | null = null;
  readonly #handler: (req: Request, client: string) => Promise<Response>;
  readonly #logger: Logger;
  readonly #limits: ConnectionLimits;
  readonly #stats: ConnectionStats | undefined;

  constructor(
    handler: (req: Request, client: string) => Promise<Response>,
    logger: Logger,
    limits: ConnectionLimits = DEFAULT_LIMITS,
    stats?: ConnectionStats,
  ) {
    this.#handler = handler;
    this.#logger = logger;
    this.#limits = limits;
    this.#stats = stats;
  }

  /** Listens unless already listening; resolves with the bound port. */
  async listen(hostname: string, port: number): Promise<number> {
    await this.#closing;
    // Checked after the wait: a concurrent listen() may have opened it.
    const open = this.#server as GuardedServer | null;
    if (open) return open.addr.port;
    this.#server = serveGuarded({
      hostname,
      port,
      reusePort: true,
      limits: this.#limits,
      stats: this.#stats,
      onError: (error) => {
        this.#logger.exception("Cannot serve request", error);
        return errorResponse(500, "Internal server error");
      },
      onWarning: (message, extra) => this.#logger.warning(message, { extra }),
    }, (req, info) => this.#handler(req, info.remoteAddr.hostname));
    return this.#server.addr.port;
  }

  /** Stops listening; resolves once the socket is closed (also for callers that come late). */
  close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server) this.#closing = server.shutdown();
    return this.#closing;
  }

  #closing: Promise<void> = Promise.resolve();
}
