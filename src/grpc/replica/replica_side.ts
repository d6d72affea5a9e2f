/**
 * The replica (Worker) end of gRPC calls: routes the server's messages to
 * calls and runs the user's handler methods.
 *
 * @module
 */

import { ReplicaCall, type ReplicaCallOptions } from "./replica_call.ts";
import type { GrpcFromReplica, GrpcToReplica } from "../common/protocol.ts";
import type { MethodCodecs } from "../common/message_codec.ts";

/** What the core's replica gives the gRPC side. */
export interface GrpcReplicaSideOptions {
  /** The user's Handler instance. */
  handler: object;
  /** Posts a message to the main thread. */
  post(msg: GrpcFromReplica): void;
  /** Logs a handler failure (with its stack) for a call. */
  logError(message: string, err: unknown, callId: number): void;
  /** The core's per-replica concurrency slot; each call runs inside one. */
  runWithSlot<T>(fn: () => Promise<T>): Promise<T>;
  /** Keeps the replica from draining until the promise settles. */
  track?(work: Promise<unknown>): void;
  /**
   * The batcher of a unary method under server_side_batching; absent when
   * the API does not batch.
   */
  batcherFor?: ReplicaCallOptions["batcherFor"];
  /** Records each call's spans when tracing is on. */
  tracer?: ReplicaCallOptions["tracer"];
  /**
   * The API's codecs, when messages arrive and leave as protobuf bytes (the
   * gRPC port); absent when they are message objects (the HTTP door).
   */
  codecs?: MethodCodecs;
}

/** The replica end, fed by the core with every `grpc.*` message. */
export interface GrpcReplicaSide {
  /** Handles one message from the gRPC server. */
  onMessage(msg: GrpcToReplica): void;
}

/**
 * Creates the replica end of gRPC calls.
 *
 * @example In a replica Worker
 * ```ts ignore
 * const side = createGrpcReplicaSide({
 *   handler,
 *   post: (msg) => self.postMessage(msg),
 *   logError: (message, err, callId) => logger.error(message, { err, callId }),
 *   runWithSlot: (fn) => slots.run(fn),
 * });
 * self.onmessage = (e) => {
 *   if (String(e.data?.type).startsWith("grpc.")) side.onMessage(e.data);
 * };
 * ```
 *
 * @param opts the handler and the core's hooks
 * @returns the message entry point
 */
export function createGrpcReplicaSide(
  opts: GrpcReplicaSideOptions,
): GrpcReplicaSide {
  const calls = new Map<number, ReplicaCall>();
  return {
    onMessage(msg) {
      switch (msg.type) {
        case "grpc.start": {
          if (calls.has(msg.callId)) return;
          const call = new ReplicaCall({
            ...opts,
            start: msg,
            codec: opts.codecs?.(msg.method),
          });
          calls.set(msg.callId, call);
          void call.run().finally(() => calls.delete(msg.callId));
          return;
        }
        case "grpc.message":
          return calls.get(msg.callId)?.receive(msg.message);
        case "grpc.end":
          return calls.get(msg.callId)?.input.end();
        case "grpc.cancel":
          return calls.get(msg.callId)?.cancel();
        case "grpc.credit":
          return calls.get(msg.callId)?.credit(msg.bytes);
      }
    },
  };
}
