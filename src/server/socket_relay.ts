/**
 * WebSockets the serving process upgrades when it routes (several HTTP APIs,
 * or while no replica listens): the client's connection stays here and its
 * messages are relayed to the chosen replica over its channel (`ws.open`,
 * `ws.opened`, `ws.message`, `ws.closed` to it; `ws.send`, `ws.close` from
 * it, checked in replica_message_check.ts). The connection is admitted on
 * that replica like a routed request and holds it until it closes.
 *
 * @module
 */

import { atLimitResponse, errorResponse } from "../http/response.ts";
import { CLOSE, messageBytes } from "../websocket/handler_socket.ts";
import { PING_AFTER_IDLE_S } from "../websocket/upgrade.ts";
import type { Replica } from "./replica.ts";
import type { ReplicaPool } from "./replica_pool.ts";

/**
 * Messages a relayed connection's client may leave untaken before the next
 * one closes it: one WebSocket message of the largest size (64 MiB, Deno's
 * frame limit) always goes through.
 */
export const RELAY_BACKLOG_BYTES = 64 * 1024 * 1024;

interface Relayed {
  replica: Replica;
  pool: ReplicaPool;
  socket: WebSocket;
}

/** The serving process's relayed WebSockets. */
export class SocketRelay {
  #nextId = 1;
  readonly #open = new Map<number, Relayed>();
  #idle: PromiseWithResolvers<void> | null = null;

  /** Connections open now. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Admits `req` on a replica of `pool`, upgrades it and relays it; a 503
   * (with Retry-After) when no replica has room, 400 when it cannot be
   * upgraded.
   */
  open(pool: ReplicaPool, req: Request): Response {
    const api = pool.api.name;
    if (pool.leastLoaded() === null) {
      return errorResponse(503, `API "${api}" has no ready replica`, {}, {
        "retry-after": "1",
      });
    }
    const replica = pool.acquire();
    if (replica === null) {
      return atLimitResponse(api);
    }
    // Read before the upgrade: the request is closed after it.
    const wire = {
      method: req.method,
      url: req.url,
      headers: [...req.headers],
      body: null,
    };
    let upgraded: ReturnType<typeof Deno.upgradeWebSocket>;
    try {
      upgraded = Deno.upgradeWebSocket(req, { idleTimeout: PING_AFTER_IDLE_S });
    } catch (error) {
      pool.release(replica);
      return errorResponse(
        400,
        `Cannot upgrade to a WebSocket: ${(error as Error).message}`,
      );
    }
    const id = this.#nextId++;
    const { socket } = upgraded;
    socket.binaryType = "arraybuffer";
    this.#open.set(id, { replica, pool, socket });
    const max = pool.api.handler.maxBodyBytes;
    socket.onopen = () => replica.send({ type: "ws.opened", id });
    socket.onmessage = (event) => {
      const data = typeof event.data === "string"
        ? event.data
        : new Uint8Array(event.data as ArrayBuffer);
      if (messageBytes(data, max) > max) {
        socket.close(
          CLOSE.tooBig,
          `Message is larger than ${max} bytes (handler.max_body_size)`,
        );
        return;
      }
      replica.send({ type: "ws.message", id, data });
    };
    socket.onclose = (event) => {
      if (!this.#open.delete(id)) return;
      replica.send({
        type: "ws.closed",
        id,
        code: event.code,
        reason: event.reason,
      });
      pool.release(replica);
      if (this.#open.size === 0) {
        this.#idle?.resolve();
        this.#idle = null;
      }
    };
    replica.send({ type: "ws.open", id, req: wire });
    return upgraded.response;
  }

  /**
   * The handler on `replica` sent a message on connection `id`. A client
   * that has not taken RELAY_BACKLOG_BYTES of earlier messages is closed
   * (1008) rather than have the serving process hold what it does not read.
   */
  send(id: number, data: string | Uint8Array, replica: Replica): void {
    const open = this.#open.get(id);
    if (open?.replica !== replica) return;
    const { socket } = open;
    if (socket.readyState !== WebSocket.OPEN) return;
    const waiting = socket.bufferedAmount;
    const size = typeof data === "string" ? data.length : data.byteLength;
    if (waiting > 0 && waiting + size > RELAY_BACKLOG_BYTES) {
      socket.close(
        CLOSE.policy,
        `Client reads too slowly: ${waiting} bytes of messages not taken yet`,
      );
      return;
    }
    socket.send(data);
  }

  /** The handler on `replica` closed connection `id`. */
  close(
    id: number,
    replica: Replica,
    code?: number,
    reason?: string,
  ): void {
    const open = this.#open.get(id);
    if (open?.replica !== replica) return;
    if (open.socket.readyState <= WebSocket.OPEN) {
      open.socket.close(code ?? CLOSE.normal, reason);
    }
  }

  /** A replica ended: its connections close with 1011. */
  replicaExited(replica: Replica): void {
    for (const open of this.#open.values()) {
      if (open.replica !== replica) continue;
      try {
        open.socket.close(CLOSE.internalError, "Replica ended");
      } catch {
        // Not open yet: it fails as the client's side opens.
      }
    }
  }

  /** Resolves once no relayed connection is open. */
  idle(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }
}
