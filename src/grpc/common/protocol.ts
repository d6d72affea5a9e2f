/**
 * The boundary between the gRPC server (main thread) and the handler replicas
 * (Workers). Messages cross by postMessage, so they hold only structured
 * clonable values: plain objects, arrays, strings, numbers, bigints and
 * Uint8Arrays. Protobuf messages travel as plain `@bufbuild/protobuf` message
 * objects (`$typeName` plus fields by local name).
 *
 * @module
 */

/**
 * The largest protobuf message a call takes or sends (grpc-js's
 * `grpc.max_receive_message_length` and `grpc.max_send_message_length`):
 * a replica ends a call whose response is larger with RESOURCE_EXHAUSTED,
 * and the serving process refuses a larger one from a replica.
 */
export const GRPC_MESSAGE_BYTES = 32 * 1024 * 1024;

/**
 * The response bytes of one streaming call (server streaming, bidi) that a
 * replica may have sent and the gRPC process not yet handed to HTTP/2: the
 * replica pulls its handler's next message only below it, and the serving
 * process replaces a replica that sends beyond it. A client that does not
 * read thus holds at most this much (plus one message) per call.
 */
export const GRPC_STREAM_WINDOW_BYTES = 1024 * 1024;

/**
 * The gRPC process returns credit in batches of at least this many bytes
 * (or at once when the call's writes drained), one message per batch.
 */
export const GRPC_CREDIT_BATCH_BYTES = GRPC_STREAM_WINDOW_BYTES / 4;

/** True for the kinds whose responses are a stream under flow control. */
export function streamsResponses(kind: MethodKind): boolean {
  return kind === "server_stream" || kind === "bidi";
}

/** The four gRPC method kinds. */
export type MethodKind = "unary" | "client_stream" | "server_stream" | "bidi";

/**
 * Request or response metadata. Keys are lower case. Values of keys ending in
 * `-bin` are base64 strings.
 */
export type GrpcMetadata = Record<string, string | string[]>;

/** Messages from the gRPC server to the replica that holds a call. */
export type GrpcToReplica =
  | {
    type: "grpc.start";
    callId: number;
    api: string;
    /** Full service name, e.g. `echo.v1.Echo`. */
    service: string;
    /** RPC name as in the `.proto`, e.g. `Predict`. */
    method: string;
    kind: MethodKind;
    metadata: GrpcMetadata;
    /**
     * Epoch milliseconds, or null when the client set no deadline. The
     * serving process bounds it by `handler.request_timeout` before the
     * replica sees it.
     */
    deadline: number | null;
    /** The client's `x-request-id`, or a new id. */
    requestId: string;
    /** The client's address (for `rate_limit.per: client`), when known. */
    peer?: string;
    /**
     * Set by the serving process on streaming calls from the gRPC port: the
     * response bytes the replica may have unacknowledged
     * ({@linkcode GRPC_STREAM_WINDOW_BYTES}); `grpc.credit` returns them.
     * Absent (the Connect door in the replica): no flow control.
     */
    window?: number;
  }
  | { type: "grpc.message"; callId: number; message: unknown }
  /** The client's HTTP/2 stream took `bytes` of the call's responses. */
  | { type: "grpc.credit"; callId: number; bytes: number }
  | { type: "grpc.end"; callId: number }
  | { type: "grpc.cancel"; callId: number };

/** Messages from a replica back to the gRPC server, for one call. */
export type GrpcFromReplica =
  | { type: "grpc.header"; callId: number; metadata: GrpcMetadata }
  | { type: "grpc.message"; callId: number; message: unknown }
  | {
    type: "grpc.done";
    callId: number;
    /** A gRPC status code; 0 is OK. */
    code: number;
    details: string;
    trailers?: GrpcMetadata;
  };

/** What the core gives the gRPC server to reach the replicas of an API. */
export interface GrpcBackend {
  /**
   * Admits one call for an API.
   *
   * @returns a lease on a replica slot, a refusal by the API's edge checks
   * (a missing or wrong key, the rate limit: src/edge/edge.ts), or null when
   * the API is over its concurrency and queue limit (the call gets
   * `UNAVAILABLE`)
   */
  admit(
    apiName: string,
    call?: { metadata: GrpcMetadata; peer?: string },
  ): GrpcLease | GrpcRefusal | null;
}

/** A call refused before admission: its status. */
export interface GrpcRefusal {
  code: number;
  details: string;
}

/** True for a refusal returned by {@linkcode GrpcBackend.admit}. */
export function isRefusal(
  v: GrpcLease | GrpcRefusal | null,
): v is GrpcRefusal {
  return v !== null && "code" in v;
}

/** One admitted call, routed to one replica. */
export interface GrpcLease {
  /** Unique per process; every message of the call carries it. */
  readonly callId: number;
  /** Delivers a message to the replica that holds the call. */
  post(msg: GrpcToReplica): void;
  /** Registers the listener for that replica's messages about this call. */
  onMessage(listener: (msg: GrpcFromReplica) => void): void;
  /** Registers the listener called when the replica dies holding the call. */
  onLost(listener: (reason: string) => void): void;
  /** Ends the lease; called exactly once when the call is over. */
  release(): void;
}

/** The runtime's structured logger, as the gRPC layer uses it. */
export interface GrpcLogger {
  debug(msg: string, extra?: Record<string, unknown>): void;
  info(msg: string, extra?: Record<string, unknown>): void;
  warning(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}
