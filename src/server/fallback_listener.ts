/**
 * The main thread's own listener on the HTTP port. It holds the port while no
 * replica listens (start-up, gRPC-only projects, every replica down), so
 * /healthz and /metrics always answer; replicas take over with `reusePort`.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
import { errorResponse } from "../http/response.ts";

/** Opens and closes the main-thread listener on demand. */
export class FallbackListener {
  #server: Deno.HttpServer | null = null;
  readonly #handler: (req: Request) => Promise<Response>;
  readonly #logger: Logger;

  constructor(handler: (req: Request) => Promise<Response>, logger: Logger) {
    this.#handler = handler;
    this.#logger = logger;
  }

  /** Listens unless already listening; resolves with the bound port. */
  async listen(hostname: string, port: number): Promise<number> {
    await this.#closing;
    // Checked after the wait: a concurrent listen() may have opened it.
    const open = this.#server as Deno.HttpServer | null;
    if (open) return (open.addr as Deno.NetAddr).port;
    const { promise, resolve } = Promise.withResolvers<number>();
    this.#server = Deno.serve({
      hostname,
      port,
      reusePort: true,
      onListen: (addr) => resolve(addr.port),
      onError: (error) => {
        this.#logger.exception("Cannot serve request", error);
        return errorResponse(500, "Internal server error");
      },
    }, this.#handler);
    return await promise;
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
