/**
 * An HTTP listener with `Deno.serve`'s interface plus what a production proxy
 * enforces and `Deno.serve` (Deno 2.9) cannot: a maximum of open connections
 * (beyond it a new connection is closed at once), a request-header timeout,
 * an idle keep-alive timeout, and an accept loop that survives descriptor
 * exhaustion (EMFILE backs off and retries instead of ending the process).
 *
 * It runs its own accept loop on `Deno.listen` (`reusePort` needs
 * `--unstable-net`) and serves each accepted connection with the runtime's
 * own per-connection server (`serveHttpOnConnection`, what node:http uses),
 * so requests take the same path as under `Deno.serve`. Timeouts are checked
 * by one coarse sweep per listener, not a timer per connection or request.
 *
 * What it can see is the request boundary: the handler call (headers
 * complete) and the response sent. So the header timeout covers a new
 * connection's first request; between requests of a kept-alive connection
 * the idle timeout covers the wait for the next request's headers. Reading a
 * request's body is the handler's to bound (`src/replica/request_run.ts`
 * answers 408 within `handler.request_timeout`; {@linkcode countBodyTimeout}).
 * A connection that times out is closed without an answer (the connection
 * belongs to the runtime's HTTP parser then, which cannot be written to).
 *
 * @module
 */

import { SERVE_ON_CONNECTION } from "./serve_internals.ts";
import type { ConnectionLimits } from "./connection_limits.ts";
export {
  type ConnectionLimits,
  DEFAULT_HEADER_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_LIMITS,
  defaultMaxConnections,
  FALLBACK_FD_LIMIT,
  reservedDescriptors,
} from "./connection_limits.ts";

/** Counters of a listener (plain numbers; safe to read at any time). */
export interface ConnectionStats {
  /** Connections open now. */
  open: number;
  /** Connections closed at once because `maxConnections` were open. */
  refused: number;
  /** Connections closed by a timeout, by kind. */
  timedOut: { header: number; idle: number; body: number };
  /** Failed accepts (e.g. EMFILE: too many open files), retried after a pause. */
  acceptErrors: number;
}

/** Fresh zeroed counters. */
export function newConnectionStats(): ConnectionStats {
  return {
    open: 0,
    refused: 0,
    timedOut: { header: 0, idle: 0, body: 0 },
    acceptErrors: 0,
  };
}

/** Options of {@linkcode serveGuarded}. */
export interface GuardedServeOptions {
  hostname: string;
  port: number;
  reusePort?: boolean;
  limits: ConnectionLimits;
  /** Called once the socket is bound. */
  onListen?(addr: Deno.NetAddr): void;
  /** Answers a request whose handler threw (default: 500). */
  onError?(error: unknown): Response | Promise<Response>;
  /** Rate-limited warnings: refused connections, accept errors. */
  onWarning?(message: string, extra: Record<string, unknown>): void;
  /** Counters to add to (default: new ones), e.g. shared by listeners. */
  stats?: ConnectionStats;
  /** A socket bound already (then hostname, port and reusePort are unused). */
  listener?: Deno.TcpListener;
}

/** A running listener, shaped like `Deno.HttpServer`. */
export interface GuardedServer {
  readonly addr: Deno.NetAddr;
  /** Resolves once the listener and every connection are closed. */
  readonly finished: Promise<void>;
  readonly stats: ConnectionStats;
  /**
   * Stops accepting, closes idle connections (and connections still sending
   * headers) at once, and waits for requests in flight to be answered.
   */
  shutdown(): Promise<void>;
}

/** A handler like `Deno.serve`'s. */
export type GuardedHandler = (
  req: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** The runtime's per-connection server (ext/http/00_serve.ts). */
type ServeOnConnection = (
  conn: Deno.Conn,
  signal: AbortSignal,
  handler: GuardedHandler,
  onError: (error: unknown) => Response | Promise<Response>,
  onListen: () => void,
) => { finished: Promise<void>; shutdown(): Promise<void> };

// Taken when src/http/serve_internals.ts loads: a replica removes Deno's
// internals before its handler loads (src/replica/process_guards.ts), and
// binds its listener later.
const SERVE_ON = SERVE_ON_CONNECTION;

function serveOnConnection(): ServeOnConnection {
  const fn = SERVE_ON;
  if (typeof fn !== "function") {
    throw new TypeError(
      "This Deno has no per-connection HTTP server (Deno[Deno.internal].serveHttpOnConnection)",
    );
  }
  return fn as ServeOnConnection;
}

/** Header (new connection), active (a request in flight), idle (kept alive). */
const HEADERS = 0;
const ACTIVE = 1;
const IDLE = 2;
/** Answered with `connection: close`; ended after a short linger. */
const CLOSING = 3;

/**
 * How long a connection answered with `connection: close` (e.g. a 413 or 408
 * with the body unread) stays open so the client can read the answer, at
 * most the idle timeout.
 */
const LINGER_MS = 2_000;

let ignoring = false;

/**
 * Aborting a connection the client has just closed makes Deno's
 * per-connection server throw `BadResource` from an abort listener (Deno
 * 2.9.6), which would end the process as an uncaught error. Our closes race
 * with clients' by nature (timeouts, reconnects), so that one error is
 * ignored; every other uncaught error still ends the process.
 */
function ignoreClosedConnectionAborts(): void {
  if (ignoring) return;
  ignoring = true;
  globalThis.addEventListener("error", (event) => {
    const error = event.error;
    if (
      error instanceof Deno.errors.BadResource &&
      /deno_http\/00_serve/.test(String(error.stack))
    ) event.preventDefault();
  });
}

/** Responses after which their connection ends (see askToReconnect). */
const RECONNECT = new WeakSet<Response>();

/**
 * Marks `res` so its connection ends once it is sent, with `connection:
 * close` telling the client to open a new one: the kernel then spreads the
 * new connection over every listener of the port (rebalancing after a
 * scale-up).
 */
export function askToReconnect(res: Response): Response {
  try {
    res.headers.set("connection", "close");
  } catch {
    // Immutable headers (a fetched Response returned as is): copy them.
    const headers = new Headers(res.headers);
    headers.set("connection", "close");
    res = new Response(res.body, {
      status: res.status,
      statusText: res.statusText,
      headers,
    });
  }
  RECONNECT.add(res);
  return res;
}

/** One accepted connection. */
class Connection {
  state = HEADERS;
  /** Requests in flight (HTTP/1.1: one; h2c may run several). */
  active = 0;
  /**
   * performance.now() past which the connection is closed (HEADERS, IDLE);
   * {@linkcode FROM_NEXT_SWEEP} for a connection gone idle since the last
   * sweep, which starts its idle clock.
   */
  deadline: number;
  readonly abort = new AbortController();
  server: { finished: Promise<void>; shutdown(): Promise<void> } | null = null;
  /** Set by an answer with `connection: close`: linger this long, then end. */
  closeAfter: number | null = null;

  constructor(deadline: number) {
    this.deadline = deadline;
  }
}

/**
 * The deadline of a connection that went idle after the last sweep: the next
 * sweep sets it to its own time plus the idle timeout. Reading the clock once
 * per sweep instead of once per answer saves a `performance.now()` (~0.2 µs)
 * on every request; the idle timeout then ends between `idleTimeoutMs` and
 * that plus two sweep intervals after the answer (one before).
 */
const FROM_NEXT_SWEEP = -1;

const WARN_EVERY_MS = 10_000;
const MIN_BACKOFF_MS = 20;
const MAX_BACKOFF_MS = 1_000;

function defaultOnError(error: unknown): Response {
  // deno-lint-ignore no-console
  console.error("Cannot serve request", error);
  return new Response("Internal Server Error", { status: 500 });
}

function isClosedListener(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted;
}

/**
 * Serves HTTP on `hostname:port` with connection limits and timeouts.
 *
 * @example
 * ```ts
 * const server = serveGuarded({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   limits: { maxConnections: 1000, headerTimeoutMs: 10_000, idleTimeoutMs: 60_000 },
 * }, () => new Response("ok"));
 * await server.shutdown();
 * ```
 */
export function serveGuarded(
  options: GuardedServeOptions,
  handler: GuardedHandler,
): GuardedServer {
  ignoreClosedConnectionAborts();
  const serveOn = serveOnConnection();
  const { limits } = options;
  const stats = options.stats ?? newConnectionStats();
  const onError = options.onError ?? defaultOnError;
  const listener = options.listener ?? Deno.listen({
    hostname: options.hostname,
    port: options.port,
    // deno-lint-ignore no-explicit-any
    ...(options.reusePort ? { reusePort: true } as any : {}),
  }) as Deno.TcpListener;
  const addr = listener.addr as Deno.NetAddr;
  const conns = new Set<Connection>();
  const closed = new Set<Promise<void>>();
  let stopping = false;

  const lastWarned = new Map<string, number>();
  const suppressed = new Map<string, number>();
  function warn(kind: string, message: string, extra: Record<string, unknown>) {
    const now = performance.now();
    const last = lastWarned.get(kind);
    if (last !== undefined && now - last < WARN_EVERY_MS) {
      suppressed.set(kind, (suppressed.get(kind) ?? 0) + 1);
      return;
    }
    lastWarned.set(kind, now);
    const more = suppressed.get(kind) ?? 0;
    suppressed.delete(kind);
    options.onWarning?.(message, { ...extra, suppressedSinceLast: more });
  }

  // One coarse sweep closes connections past their deadline.
  const resolution = Math.min(
    1_000,
    Math.max(25, Math.min(limits.headerTimeoutMs, limits.idleTimeoutMs) / 10),
  );
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const c of conns) {
      if (c.state === ACTIVE || c.deadline > now) continue;
      if (c.deadline === FROM_NEXT_SWEEP) {
        c.deadline = now + limits.idleTimeoutMs;
        continue;
      }
      if (c.state === HEADERS) stats.timedOut.header++;
      else if (c.state === IDLE) stats.timedOut.idle++;
      close(c);
    }
  }, resolution);
  Deno.unrefTimer(sweep);

  function close(c: Connection): void {
    if (!conns.delete(c)) return;
    c.abort.abort();
  }

  function serve(conn: Deno.Conn): void {
    const c = new Connection(performance.now() + limits.headerTimeoutMs);
    conns.add(c);
    stats.open++;
    const done = () => {
      conns.delete(c);
      stats.open--;
      closed.delete(finished);
    };
    const begin = () => {
      c.active++;
      c.state = ACTIVE;
    };
    const end = () => {
      if (--c.active > 0 || c.state === CLOSING) return;
      if (c.closeAfter !== null) {
        // The unread rest of the body is not drained: the connection ends
        // once the client had time to read the answer.
        c.state = CLOSING;
        c.deadline = performance.now() + c.closeAfter;
        return;
      }
      c.state = IDLE;
      c.deadline = FROM_NEXT_SWEEP;
    };
    const seen = (res: Response): Response => {
      if (RECONNECT.has(res)) {
        // The client closes it on reading `connection: close`; the linger
        // ends it for a client that does not.
        c.closeAfter = Math.min(LINGER_MS, limits.idleTimeoutMs);
        return res;
      }
      // Only error answers may end their connection (cheap check first).
      if (res.status >= 400 && res.headers.get("connection") === "close") {
        if (res.status === 408) stats.timedOut.body++;
        c.closeAfter = Math.min(LINGER_MS, limits.idleTimeoutMs);
      }
      return res;
    };
    let finished: Promise<void>;
    try {
      c.server = serveOn(
        conn,
        c.abort.signal,
        (req, info) => {
          begin();
          // Over when the response is sent (or the connection fails).
          info.completed.then(end, end);
          const res = handler(req, info);
          return res instanceof Response ? seen(res) : res.then(seen);
        },
        onError,
        () => {},
      );
      finished = c.server.finished.then(done, done);
    } catch (error) {
      // The connection is unusable (e.g. reset before it was served).
      finished = Promise.resolve();
      done();
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      warn("serve", "Cannot serve a connection", {
        error: String((error as Error)?.message ?? error),
      });
      return;
    }
    closed.add(finished);
  }

  const loop = (async () => {
    let backoff = MIN_BACKOFF_MS;
    while (!stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopping || isClosedListener(error)) break;
        // EMFILE/ENFILE/ENOBUFS…: the pending connection stays queued in
        // the kernel; pause so the loop does not spin, then retry.
        stats.acceptErrors++;
        warn("accept", "Cannot accept a connection; retrying", {
          error: String((error as Error)?.message ?? error),
          openConnections: stats.open,
          retryInMs: backoff,
        });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      backoff = MIN_BACKOFF_MS;
      if (stopping) {
        conn.close();
        break;
      }
      if (conns.size >= limits.maxConnections) {
        stats.refused++;
        conn.close();
        warn(
          "refused",
          `Connection refused: ${limits.maxConnections} connections are open (--max-connections)`,
          { maxConnections: limits.maxConnections, refused: stats.refused },
        );
        continue;
      }
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // Not TCP, or already reset.
      }
      serve(conn);
    }
  })();

  options.onListen?.(addr);

  let shuttingDown: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    shuttingDown ??= (async () => {
      stopping = true;
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      await loop;
      const graceful: Promise<void>[] = [];
      for (const c of [...conns]) {
        // Idle, or still sending headers: nothing to finish.
        if (c.state !== ACTIVE) close(c);
        else if (c.server) graceful.push(c.server.shutdown().catch(() => {}));
      }
      await Promise.all(graceful);
      await Promise.all([...closed]);
      clearInterval(sweep);
    })();
    return shuttingDown;
  };

  const finished = loop.then(async () => {
    // The loop ends only when shutting down.
    await shuttingDown;
  });

  return { addr, finished, stats, shutdown };
}
