/**
 * A replica's WebSocket connections: `GET <endpoint>` requests that ask for
 * an upgrade, when the handler has `handleWebSocket(socket, req)`. Each
 * connection is admitted like a request and stays in flight (admission,
 * autoscaler, /metrics) until it closes; it holds no concurrency slot, since
 * it runs only when a message arrives. Its access line is written when it
 * closes (status 101, duration, bytes, close code).
 *
 * @module
 */

import type { ApiConfig } from "../config/resolved_config.ts";
import type { HandlerLogger } from "../handler/handler_context.ts";
import { atLimitResponse, errorResponse } from "../http/response.ts";
import {
  CLOSE,
  HandlerSocket,
  type SocketTransport,
} from "../websocket/handler_socket.ts";
import type { Admission } from "./admission.ts";
import type { WebSocketMethod } from "./handler_loader.ts";
import { type AccessEntry, pathOf, traceOf } from "./http_pipeline.ts";
import { withRequest } from "./request_context.ts";
import { LazyRequestInfo } from "./request_info.ts";
import { PING_AFTER_IDLE_S } from "../websocket/upgrade.ts";

/** What the sessions need from their replica. */
export interface WebSocketDeps {
  api: ApiConfig;
  method: WebSocketMethod;
  admission: Admission;
  slot: number;
  loggerFor(requestId: string): HandlerLogger & {
    exception(message: string, error: unknown): void;
  };
  access(entry: AccessEntry): void;
  /** Upgrades the request (Deno.upgradeWebSocket, taken before handlers load). */
  upgrade: typeof Deno.upgradeWebSocket;
  /**
   * Whether `req` arrived on a connection that can be upgraded (see
   * src/http/upgradable_server.ts); others are asked to reconnect.
   */
  canUpgrade(req: Request): boolean;
}

/** The open WebSocket connections of one replica. */
export class WebSocketSessions {
  readonly #deps: WebSocketDeps;
  readonly #open = new Set<HandlerSocket>();
  #idle: PromiseWithResolvers<void> | null = null;
  #draining = false;

  constructor(deps: WebSocketDeps) {
    this.#deps = deps;
  }

  /** Connections open now. */
  get size(): number {
    return this.#open.size;
  }

  /** Upgrades `req` and hands the socket to the handler, or refuses it. */
  open(received: Request, requestId: string): Response {
    // The handler's and the access line's copy: the upgrade closes `received`.
    const req = new Request(received.url, {
      headers: new Headers(received.headers),
    });
    const deps = this.#deps;
    const log = this.#accessLog(req, requestId);
    const refuse = (res: Response) => {
      log(res.status);
      res.headers.set("x-request-id", requestId);
      return res;
    };
    if (this.#draining) {
      return refuse(
        errorResponse(503, "Server is shutting down", {}, {
          "retry-after": "1",
        }),
      );
    }
    if (!deps.admission.tryAdmit()) {
      return refuse(atLimitResponse(deps.api.name));
    }
    if (!deps.canUpgrade(received)) {
      // A connection of the guarded server (opened before the handler
      // loaded, or kept alive): a new one reaches the upgradable server.
      deps.admission.finish();
      return refuse(errorResponse(
        503,
        "This connection cannot become a WebSocket; retry on a new connection",
        {},
        { "retry-after": "0", connection: "close" },
      ));
    }
    deps.admission.addLoad(deps.slot, 1);
    const release = () => {
      deps.admission.addLoad(deps.slot, -1);
      deps.admission.finish();
    };
    let upgraded: ReturnType<typeof Deno.upgradeWebSocket>;
    try {
      upgraded = deps.upgrade(received, { idleTimeout: PING_AFTER_IDLE_S });
    } catch (error) {
      release();
      return refuse(errorResponse(
        400,
        `Cannot upgrade to a WebSocket: ${(error as Error).message}`,
      ));
    }
    this.#run(req, requestId, upgraded.socket, release, log);
    try {
      upgraded.response.headers.set("x-request-id", requestId);
    } catch {
      // Immutable headers: the id is in the access line.
    }
    return upgraded.response;
  }

  /**
   * Runs the handler on a WebSocket the serving process upgraded and
   * admitted here (src/server/socket_relay.ts).
   */
  openRelayed(req: Request, requestId: string, transport: SocketTransport) {
    const deps = this.#deps;
    const log = this.#accessLog(req, requestId);
    deps.admission.admit();
    deps.admission.addLoad(deps.slot, 1);
    this.#run(req, requestId, transport, () => {
      deps.admission.addLoad(deps.slot, -1);
      deps.admission.finish();
    }, log);
  }

  /** Writes the connection's access line, timed from now. */
  #accessLog(req: Request, requestId: string) {
    const started = performance.now();
    return (status: number, extra: Partial<AccessEntry> = {}) =>
      this.#deps.access({
        method: req.method,
        path: pathOf(req.url),
        status,
        latencyMs: Math.round((performance.now() - started) * 100) / 100,
        requestId,
        ...traceOf(req),
        bytesIn: 0,
        bytesOut: 0,
        ...extra,
      });
  }

  /** Hands `transport` to the handler; in flight until it closes. */
  #run(
    req: Request,
    requestId: string,
    transport: SocketTransport,
    release: () => void,
    log: (status: number, extra?: Partial<AccessEntry>) => void,
  ): void {
    const deps = this.#deps;
    const logger = deps.loggerFor(requestId);
    const scope = { requestId };
    let bytesIn = 0;
    let bytesOut = 0;
    const socket = new HandlerSocket(req.url, transport, {
      maxMessageBytes: deps.api.handler.maxBodyBytes,
      onListenerError: (error) =>
        logger.exception("WebSocket handler failed", error),
      onBytes: (direction, n) => {
        if (direction === "in") bytesIn += n;
        else bytesOut += n;
      },
      run: (listener) => withRequest(scope, listener),
    });
    this.#open.add(socket);
    // After the socket's own listeners: the handler sees the close first.
    transport.addEventListener("close", (event) => {
      this.#open.delete(socket);
      release();
      log(101, { bytesIn, bytesOut, closeCode: (event as CloseEvent).code });
      if (this.#open.size === 0) {
        this.#idle?.resolve();
        this.#idle = null;
      }
    });
    const info = new LazyRequestInfo(req, requestId, () => logger);
    try {
      const result = withRequest(scope, () => deps.method(socket, info));
      if (typeof (result as { then?: unknown } | null)?.then === "function") {
        (result as Promise<unknown>).then(undefined, (e) => socket.fail(e));
      }
    } catch (error) {
      socket.fail(error);
    }
  }

  /** Refuses new connections and closes the open ones (default 1001). */
  closeAll(code: number = CLOSE.goingAway, reason = "Server shutting down") {
    this.#draining = true;
    for (const socket of this.#open) {
      if (socket.readyState <= HandlerSocket.OPEN) socket.close(code, reason);
    }
  }

  /** Refuses new connections from now on (the replica drains). */
  drain(): void {
    this.#draining = true;
  }

  /** Resolves once no connection is open. */
  idle(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }
}
