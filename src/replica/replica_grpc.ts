/**
 * Connects the gRPC replica side (src/grpc) to this replica's slots, logger
 * and message port.
 *
 * @module
 */

import {
  createGrpcReplicaSide,
  type GrpcReplicaSide,
} from "../grpc/replica_side.ts";
import type { GrpcToReplica } from "../grpc/protocol.ts";
import type { Logger } from "../log/logger.ts";
import type { FromReplica } from "./messages.ts";
import type { Slots } from "./slots.ts";

/** The gRPC calls of one replica. */
export class ReplicaGrpc {
  readonly #side: GrpcReplicaSide;

  constructor(opts: {
    handler: object;
    post(msg: FromReplica): void;
    logger: Logger;
    slots: Slots;
    track(work: Promise<unknown>): void;
  }) {
    this.#side = createGrpcReplicaSide({
      handler: opts.handler,
      post: (msg) => opts.post({ type: "grpc", msg }),
      logError: (message, error, callId) =>
        opts.logger.exception(message, error, { extra: { callId } }),
      runWithSlot: (fn) => {
        const work = opts.slots.run(fn);
        opts.track(work);
        return work;
      },
    });
  }

  /** Handles one message of a call. */
  onMessage(msg: { type: string; callId: number }): void {
    this.#side.onMessage(msg as GrpcToReplica);
  }
}
