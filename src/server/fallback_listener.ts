/**
 * The main thread's own listener on the HTTP port. It holds the port while no
 * replica listens (start-up, gRPC-only projects, every replica down), so
 * /healthz and /metrics always answer; replicas take over with `reusePort`.
 * Once an API's handler takes WebSockets it is Deno's listener-based server
 * (src/http/upgradable_server.ts), bound beside the guarded one before that
 * one closes.
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
  newConnectionStats,
  serveGuarded,
} from "../http/guarded_server.ts";
import { serveUpgradable } from "../http/upgradable_server.ts";

/** When and how the listener serves WebSocket upgrades. */
export interface UpgradeOptions {
  /** True once a served API's handler takes WebSockets. */
  wanted(): boolean;
  /** Awaited before an upgradable listener closes (relayed sockets end). */
  beforeShutdown(): Promise<void>;
}

/** Opens and closes the main-thread listener on demand. */
export class FallbackListener {
  #server: GuardedServer | null = null;
  readonly #handler: (req: Request, client: string) => Promise<Response>;
  readonly #logger: Logger;
  readonly #limits: ConnectionLimits;
  readonly #stats: ConnectionStats | undefined;
  readonly #upgrades: UpgradeOptions | null;
  #upgradable = false;
  /** Requests of the upgradable server (only those can become WebSockets). */
  readonly #marked = new WeakSet<Request>();

  constructor(
    handler: (req: Request, client: string) => Promise<Response>,
    logger: Logger,
    limits: ConnectionLimits = DEFAULT_LIMITS,
    stats?: ConnectionStats,
    upgrades: UpgradeOptions | null = null,
  ) {
    this.#upgrades = upgrades;
    this.#handler = handler;
    this.#logger = logger;
    this.#limits = limits;
    this.#stats = stats;
  }

  /** Listens unless already listening; resolves with the bound port. */
  async listen(hostname: string, port: number): Promise<number> {
    if (this.#server === null) await this.#closing;
    // Checked after the wait: a concurrent listen() may have opened it.
    const open = this.#server as GuardedServer | null;
    const upgradable = this.#upgrades?.wanted() ?? false;
    if (open && (this.#upgradable || !upgradable)) return open.addr.port;
    const onError = (error: unknown) => {
      this.#logger.exception("Cannot serve request", error);
      return errorResponse(500, "Internal server error");
    };
    if (upgradable) {
      // Bound beside the guarded listener (reusePort), which then closes.
      const bind = (at: number) =>
        Deno.listen({
          hostname,
          port: at,
          // deno-lint-ignore no-explicit-any
          ...({ reusePort: true } as any),
        }) as Deno.TcpListener;
      const listener = bind(open?.addr.port ?? port);
      const stats = this.#stats ?? newConnectionStats();
      this.#server = serveUpgradable({
        listener,
        stats,
        onError,
        beforeShutdown: () => this.#upgrades!.beforeShutdown(),
        // Out of descriptors, Deno's server stops; it is bound again.
        relisten: () => bind(listener.addr.port),
        onAcceptError: (error, retryInMs) => {
          stats.acceptErrors++;
          this.#logger.warning(
            `Cannot accept a connection on port ${listener.addr.port}: ${
              (error as Error).message
            }; listening again in ${retryInMs} ms`,
            { extra: { retryInMs } },
          );
        },
      }, (req, info) => {
        this.#marked.add(req);
        return this.#handler(req, info.remoteAddr.hostname);
      });
      this.#upgradable = true;
      if (open) this.#closing = open.shutdown();
      return this.#server.addr.port;
    }
    this.#server = serveGuarded({
      hostname,
      port,
      reusePort: true,
      limits: this.#limits,
      stats: this.#stats,
      onError,
      onWarning: (message, extra) => this.#logger.warning(message, { extra }),
    }, (req, info) => this.#handler(req, info.remoteAddr.hostname));
    return this.#server.addr.port;
  }

  /** True for a request that arrived on a connection that can be upgraded. */
  canUpgrade(req: Request): boolean {
    return this.#marked.has(req);
  }

  /** Stops listening; resolves once the socket is closed (also for callers that come late). */
  close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    this.#upgradable = false;
    if (server) {
      const previous = this.#closing;
      this.#closing = Promise.all([previous, server.shutdown()]).then(() => {});
    }
    return this.#closing;
  }

  #closing: Promise<void> = Promise.resolve();
}
