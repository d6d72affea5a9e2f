/**
 * Serves a listening socket with Deno's own listener-based HTTP server (what
 * `Deno.serve` runs), the only one that keeps WebSocket connections open in
 * Deno 2.9: its per-connection server (`src/http/guarded_server.ts`) closes
 * an upgraded connection as soon as the upgrade is done. A replica whose
 * handler class has `handleWebSocket` serves its socket here instead of
 * with the guarded server (decided once the handler's module is imported).
 *
 * The price: on this listener Deno's defaults replace the guarded server's
 * connection cap and header/idle timeouts (README "WebSockets").
 *
 * @module
 */

import type {
  ConnectionStats,
  GuardedHandler,
  GuardedServer,
} from "./guarded_server.ts";
import { SERVE_ON_LISTENER } from "./serve_internals.ts";

/** The runtime's listener-based server (ext/http/00_serve.ts). */
type ServeOnListener = (
  listener: Deno.Listener,
  signal: AbortSignal | undefined,
  handler: GuardedHandler,
  onError: (error: unknown) => Response | Promise<Response>,
  onListen: () => void,
) => { finished: Promise<void>; shutdown(): Promise<void> };

// Taken when src/http/serve_internals.ts loads, which a replica imports
// statically: this module loads after the handler (only for one with
// handleWebSocket), when Deno's internals are gone
// (src/replica/process_guards.ts).
const SERVE_ON = SERVE_ON_LISTENER;

/** Options of {@linkcode serveUpgradable}. */
export interface UpgradableServeOptions {
  /** A bound socket. */
  listener: Deno.TcpListener;
  /** Counters shown in /metrics (this server adds nothing to them). */
  stats: ConnectionStats;
  /** Answers a request whose handler threw. */
  onError(error: unknown): Response | Promise<Response>;
  /**
   * Awaited before the server shuts down: Deno's shutdown closes every open
   * WebSocket at once, so the owner closes them first (with 1001).
   */
  beforeShutdown?(): Promise<void>;
  /**
   * Binds the port again. Deno's server ends for good when an accept fails
   * (EMFILE: every descriptor in use) and its `finished` rejects, which ends
   * the process; with this, the server is started again on a new listener
   * after a pause (20 ms doubling to 1 s) instead. Without it (a replica,
   * which may not bind again) the process ends and is replaced.
   */
  relisten?(): Deno.TcpListener;
  /** Told of each failed accept loop that is started again. */
  onAcceptError?(error: unknown, retryInMs: number): void;
}

const RETRY_MIN_MS = 20;
const RETRY_MAX_MS = 1_000;

/**
 * Serves `options.listener` with Deno's listener-based server.
 *
 * @throws {TypeError} When this Deno has no such server.
 */
export function serveUpgradable(
  options: UpgradableServeOptions,
  handler: GuardedHandler,
): GuardedServer {
  if (typeof SERVE_ON !== "function") {
    throw new TypeError(
      "This Deno has no listener-based HTTP server (Deno[Deno.internal].serveHttpOnListener)",
    );
  }
  const start = (listener: Deno.TcpListener) =>
    (SERVE_ON as ServeOnListener)(
      listener,
      undefined,
      handler,
      options.onError,
      () => {},
    );
  let inner = start(options.listener);
  let stopping = false;
  const relisten = options.relisten;
  const finished = relisten === undefined ? inner.finished : (async () => {
    let delay = 0;
    for (;;) {
      try {
        await inner.finished;
        return;
      } catch (error) {
        if (stopping) return;
        // The loop is over; its listener must not hold connections that
        // nobody accepts beside the new one (reusePort).
        try {
          void inner.shutdown().catch(() => {});
        } catch { /* already closed */ }
        delay = Math.min(Math.max(RETRY_MIN_MS, delay * 2), RETRY_MAX_MS);
        options.onAcceptError?.(error, delay);
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (stopping) return;
        try {
          inner = start(relisten());
        } catch (bindError) {
          // No descriptor for a socket yet either: wait and try again.
          inner = {
            finished: Promise.reject(bindError),
            shutdown: () => Promise.resolve(),
          };
        }
      }
    }
  })();
  let shuttingDown: Promise<void> | null = null;
  return {
    addr: options.listener.addr as Deno.NetAddr,
    finished,
    stats: options.stats,
    shutdown: () =>
      shuttingDown ??= (async () => {
        await options.beforeShutdown?.();
        stopping = true;
        await inner.shutdown();
      })(),
  };
}
