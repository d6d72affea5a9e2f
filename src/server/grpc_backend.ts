/**
 * Admits gRPC calls into an API's replica pool and routes each call's
 * messages between the gRPC server and the replica that holds it.
 *
 * @module
 */

import type {
  GrpcBackend,
  GrpcFromReplica,
  GrpcLease,
} from "../grpc/protocol.ts";
import type { Replica, ReplicaExit } from "./replica.ts";
import type { ReplicaPool } from "./replica_pool.ts";

interface Call {
  replica: Replica;
  pool: ReplicaPool;
  onMessage: (msg: GrpcFromReplica) => void;
  onLost: (reason: string) => void;
  lost: boolean;
}

/** The core side of the gRPC boundary. */
export class PoolGrpcBackend implements GrpcBackend {
  #nextId = 1;
  readonly #calls = new Map<number, Call>();
  readonly #pools: (name: string) => ReplicaPool | undefined;

  constructor(pools: (name: string) => ReplicaPool | undefined) {
    this.#pools = pools;
  }

  admit(apiName: string): GrpcLease | null {
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
    };
    this.#calls.set(callId, call);
    let released = false;
    return {
      callId,
      post: (msg) => replica.send({ type: "grpc", msg }),
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

  /** `replica` sent a gRPC message: only for a call it holds. */
  deliver(msg: GrpcFromReplica, replica: Replica): void {
    const call = this.#calls.get(msg.callId);
    if (call?.replica === replica) call.onMessage(msg);
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
