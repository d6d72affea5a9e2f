/**
 * Admits gRPC calls into an API's replica pool and routes each call's
 * messages between the gRPC server and the replica that holds it.
 *
 * @module
 */

import {
  GRPC_STREAM_WINDOW_BYTES,
  type GrpcBackend,
  type GrpcFromReplica,
  type GrpcLease,
  type GrpcMetadata,
  type GrpcRefusal,
  type GrpcToReplica,
  streamsResponses,
} from "../grpc/common/protocol.ts";
import { type Edge, GRPC_CODE } from "../edge/edge.ts";
import type { Replica, ReplicaExit } from "./replica.ts";
import type { ReplicaPool } from "./replica_pool.ts";

/**
 * The deadline a call runs under: the earlier of the client's (epoch ms, or
 * null when it set none) and `handler.request_timeout` from now.
 */
export function effectiveDeadline(
  client: number | null,
  now: number,
  requestTimeoutMs: number,
): number {
  const ours = now + requestTimeoutMs;
  return client === null ? ours : Math.min(client, ours);
}

/**
 * A start message with its deadline bounded by the API's request timeout,
 * and the flow-control window of a streaming call set here, not by the gRPC
 * process: this process enforces it.
 */
function bounded(msg: GrpcToReplica, timeoutMs: number): GrpcToReplica {
  if (msg.type !== "grpc.start") return msg;
  const { window: _, ...start } = msg;
  return {
    ...start,
    deadline: effectiveDeadline(msg.deadline, Date.now(), timeoutMs),
    ...(streamsResponses(msg.kind) ? { window: GRPC_STREAM_WINDOW_BYTES } : {}),
  };
}

interface Call {
  replica: Replica;
  pool: ReplicaPool;
  onMessage: (msg: GrpcFromReplica) => void;
  onLost: (reason: string) => void;
  lost: boolean;
  /** The call's window when its responses stream, else null. */
  window: number | null;
  /** Response bytes the replica sent that the gRPC process has not credited. */
  unacked: number;
}

/** The core side of the gRPC boundary. */
export class PoolGrpcBackend implements GrpcBackend {
  #nextId = 1;
  readonly #calls = new Map<number, Call>();
  readonly #pools: (name: string) => ReplicaPool | undefined;
  readonly #edge: (name: string) => Edge | null;

  constructor(
    pools: (name: string) => ReplicaPool | undefined,
    edge: (name: string) => Edge | null = () => null,
  ) {
    this.#pools = pools;
    this.#edge = edge;
  }

  admit(
    apiName: string,
    from?: { metadata: GrpcMetadata; peer?: string },
  ): GrpcLease | GrpcRefusal | null {
    // The API's keys and rate limit, as for HTTP (src/edge/edge.ts); the
    // limiter lives in this process, so the answer is synchronous.
    const edge = this.#edge(apiName);
    if (edge !== null) {
      const md = from?.metadata ?? {};
      const get = (name: string) => {
        const v = md[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const refused = edge.admit("POST", get, from?.peer ?? "");
      if (refused instanceof Promise) {
        throw new Error("unreachable: async take");
      }
      if (refused !== null) {
        this.#pools(apiName)?.mainStats.observe(
          refused.reason === "unauthorized" ? 401 : 429,
          0,
        );
        return { code: GRPC_CODE[refused.reason], details: refused.message };
      }
    }
    const pool = this.#pools(apiName);
    const replica = pool?.acquire() ?? null;
    if (!pool || replica === null) return null;
    const callId = this.#nextId++;
    const call: Call = {
      replica,
      pool,
      onMessage: () => {},
      onLost: () => {},
      lost: false,
      window: null,
      unacked: 0,
    };
    this.#calls.set(callId, call);
    let released = false;
    // The replica ends the call at this deadline (DEADLINE_EXCEEDED, the
    // handler's signal aborts, its slot is freed) and this lease with it.
    const timeoutMs = pool.api.handler.requestTimeoutMs;
    return {
      callId,
      post: (msg) => {
        if (msg.type === "grpc.start" && streamsResponses(msg.kind)) {
          call.window = GRPC_STREAM_WINDOW_BYTES;
        } else if (msg.type === "grpc.credit") {
          if (call.window === null) return;
          call.unacked = Math.max(0, call.unacked - msg.bytes);
        }
        replica.send({ type: "grpc", msg: bounded(msg, timeoutMs) });
      },
      onMessage: (listener) => call.onMessage = listener,
      onLost: (listener) => call.onLost = listener,
      release: () => {
        if (released) return;
        released = true;
        this.#calls.delete(callId);
        pool.release(replica);
      },
    };
  }

  /**
   * `replica` sent a gRPC message: only for a call it holds. A response
   * sent while the call's window was already used up means the replica
   * ignores flow control: it is replaced, so that no process buffers
   * without bound for a client that does not read.
   */
  deliver(msg: GrpcFromReplica, replica: Replica): void {
    const call = this.#calls.get(msg.callId);
    if (call?.replica !== replica) return;
    if (msg.type === "grpc.message" && call.window !== null) {
      if (call.unacked >= call.window) {
        replica.kill(
          "crashed",
          `sent a gRPC response beyond its call's flow-control window of ${call.window} bytes (call ${msg.callId}); replaced`,
        );
        return;
      }
      call.unacked += (msg.message as Uint8Array).byteLength;
    }
    call.onMessage(msg);
  }

  /** Fails the calls a dead replica held. */
  replicaExited(replica: Replica, exit: ReplicaExit): void {
    for (const call of this.#calls.values()) {
      if (call.replica !== replica) continue;
      call.lost = true;
      call.onLost(`replica "${replica.id}" ${exit.reason}: ${exit.message}`);
    }
  }
}
