/**
 * Connects the gRPC replica side (src/grpc) to this replica's slots, logger
 * and message port.
 *
 * @module
 */

import type { SpanRecorder } from "../trace/recorder.ts";
import {
  createGrpcReplicaSide,
  type GrpcReplicaSide,
  type GrpcReplicaSideOptions,
} from "../grpc/replica/replica_side.ts";
import type { GrpcToReplica } from "../grpc/common/protocol.ts";
import type { Logger } from "../log/logger.ts";
import type { FromReplica } from "../wire/replica_messages.ts";
import type { Slots } from "./slots.ts";
import type { ApiConfig } from "../config/resolved_config.ts";
import type { BatchStats } from "../metrics/batch_stats.ts";
import type { GrpcCallInfo } from "../grpc/common/call_info.ts";
import { Code, GrpcError } from "../grpc/common/grpc_error.ts";
import { methodCodecs } from "../grpc/common/message_codec.ts";
import { Batcher } from "./batcher.ts";
import type {
  ConnectServe,
  createConnectServe,
} from "../grpc/replica/connect_serve.ts";

/** The gRPC calls of one replica. */
export class ReplicaGrpc {
  readonly #side: GrpcReplicaSide;
  /**
   * Connect and gRPC-Web on the HTTP port (src/grpc/replica/connect_serve.ts), when
   * the serving process sent the API's descriptors.
   */
  readonly http: ConnectServe | null;

  constructor(opts: {
    handler: object;
    post(msg: FromReplica): void;
    logger: Logger;
    slots: Slots;
    track(work: Promise<unknown>): void;
    /** For server_side_batching of unary methods. */
    api?: ApiConfig;
    batchStats?: BatchStats | null;
    /** Records spans when tracing is on. */
    tracer?: SpanRecorder;
    /**
     * The API's compiled descriptors: the codecs of calls from the gRPC
     * port, and the HTTP door.
     */
    descriptorSet?: Uint8Array;
    /**
     * Builds the HTTP door; imported only by replicas of a gRPC API, so
     * others never load Connect-ES (measured: 30-40 ms and 7 MB a replica).
     */
    connect?: typeof createConnectServe;
  }) {
    const settings = opts.api?.handler.serverSideBatching ?? null;
    const batchers = new Map<string, Batcher<GrpcCallInfo>>();
    const side: Omit<GrpcReplicaSideOptions, "post"> = {
      handler: opts.handler,
      logError: (message, error, callId) =>
        opts.logger.exception(message, error, { extra: { callId } }),
      runWithSlot: (fn) => {
        const work = opts.slots.run(fn);
        opts.track(work);
        return work;
      },
      track: opts.track,
      ...(opts.tracer ? { tracer: opts.tracer } : {}),
      batcherFor: settings === null ? undefined : (method, fn) => {
        let batcher = batchers.get(method);
        if (batcher === undefined) {
          const api = opts.api!.name;
          batcher = new Batcher<GrpcCallInfo>({
            ...settings,
            describe: `gRPC method "${method}" of API "${api}"`,
            run: (payloads, infos) =>
              opts.slots.run(async () =>
                await (fn as unknown as (p: unknown[], i: unknown[]) => unknown)
                  .call(
                    opts.handler,
                    payloads,
                    infos,
                  )
              ),
            error: (status, message) =>
              new GrpcError(
                status === 503 ? Code.UNAVAILABLE : Code.INTERNAL,
                message,
              ),
            onBatch: (size, waits) => opts.batchStats?.observe(size, waits),
            onShed: (infos, waitedMs) =>
              opts.logger.warning(
                `API "${api}": ${infos.length} gRPC call(s) of "${method}" waited ${
                  Math.round(waitedMs)
                } ms for a batch (server_side_batching.max_latency is ${settings.maxLatencyMs} ms) and got UNAVAILABLE`,
              ),
          });
          batchers.set(method, batcher);
        }
        return batcher;
      },
    };
    const api = opts.api;
    // Calls from the gRPC port carry protobuf bytes, decoded and encoded
    // here; the HTTP door's calls carry message objects.
    this.#side = createGrpcReplicaSide({
      ...side,
      ...(opts.descriptorSet && api?.handler.protobufPath
        ? {
          codecs: methodCodecs(opts.descriptorSet, api.handler.protobufPath),
        }
        : {}),
      post: (msg) => opts.post({ type: "grpc", msg }),
    });
    this.http = opts.descriptorSet && opts.connect && api?.handler.protobufPath
      ? opts.connect({
        descriptorSet: opts.descriptorSet,
        protobufPath: api.handler.protobufPath,
        api: api.name,
        runner: (post) => createGrpcReplicaSide({ ...side, post }),
        requestTimeoutMs: api.handler.requestTimeoutMs,
        maxBodyBytes: api.handler.maxBodyBytes,
        logError: (message, requestId) =>
          opts.logger.error(message, { extra: { requestId } }),
      })
      : null;
  }

  /** Handles one message of a call. */
  onMessage(msg: GrpcToReplica): void {
    this.#side.onMessage(msg);
  }
}
