/**
 * Messages on the Unix socket between the serving process (replicas,
 * admission) and the gRPC process (grpc-js), framed by `frames.ts`.
 *
 * The gRPC process numbers its calls; the serving process maps each of its
 * call ids to a lease of `PoolGrpcBackend` and rewrites ids both ways, so the
 * call messages themselves are the replica protocol of `protocol.ts`.
 *
 * @module
 */

import type { GrpcFromReplica, GrpcToReplica } from "./protocol.ts";

/** One gRPC API as the serving process runs it. */
export interface BridgeApi {
  name: string;
  /** `handler.protobuf_path`: the key of its descriptor set. */
  protobufPath: string;
  /** Method names of the handler class. */
  handlerMethods: string[];
  /** Whether the API has a ready replica. */
  serving: boolean;
}

/** Serving process → gRPC process. */
export type ToGrpcProcess =
  | {
    /** First message on every connection. */
    type: "hello";
    apis: BridgeApi[];
    /** How long a drain may wait for calls in flight. */
    shutdownGraceMs: number;
  }
  | {
    /** An API's readiness changed. */
    type: "health";
    serving: Record<string, boolean>;
  }
  | GrpcFromReplica;

/** gRPC process → serving process. */
export type FromGrpcProcess =
  | {
    /** grpc-js listens (sent after each hello). */
    type: "listening";
    port: number;
  }
  | GrpcToReplica;

/** The key that tells whether two hellos describe the same services. */
export function apiSetKey(apis: readonly BridgeApi[]): string {
  return JSON.stringify(
    apis.map((a) => [a.name, a.protobufPath, [...a.handlerMethods].sort()])
      .sort(),
  );
}
