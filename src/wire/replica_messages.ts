/**
 * The messages between the serving process and a replica process, as
 * discriminated unions on `type` ({@linkcode ToReplica},
 * {@linkcode FromReplica}); the serving process checks every message it
 * receives (replica_message_check.ts). Only plain data crosses: errors
 * travel as `{ name, message, stack }`.
 *
 * @module
 */

import type { StreamSnapshot } from "../metrics/stream_stats.ts";
import type { ApiConfig, LogLevel } from "../config/resolved_config.ts";
import type { CustomSeries } from "../metrics/custom_metrics.ts";
import type {
  ConnectionLimits,
  ConnectionStats,
} from "../http/guarded_server.ts";
import type { StatsSnapshot } from "../metrics/request_stats.ts";
import type { BatchSnapshot } from "../metrics/batch_stats.ts";
import type { EdgeInit } from "../edge/edge.ts";
import type { SpanData } from "../trace/span.ts";
import type {
  ControlFromReplica,
  ControlToReplica,
} from "../control/proxy_messages.ts";
import type {
  GrpcFromReplica,
  GrpcToReplica,
} from "../grpc/common/protocol.ts";

/** An HTTP request as plain data. */
export interface WireRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array | null;
}

/** An HTTP response as plain data. */
export interface WireResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array | null;
}

/** An HTTP route of the server: path prefix → API name. */
export interface Route {
  endpoint: string;
  api: string;
}

/** Everything a replica needs to start. */
export interface ReplicaInit {
  type: "init";
  api: ApiConfig;
  replicaId: string;
  projectDir: string;
  scratchDir: string;
  /** The handler's environment: .env, handler.env, CORTEX_*. */
  env: Record<string, string>;
  /**
   * Where to run this replica's own Deno.serve: only when the server has a
   * single HTTP API, so a replica never receives another API's traffic
   * (null: the main thread routes its requests).
   */
  listen: { hostname: string; port: number } | null;
  /** Connection limits and timeouts of that listener (`cortex serve` flags). */
  limits?: ConnectionLimits;
  routes: Route[];
  /** Ready replicas of this API when it starts (then `peers` messages). */
  peers: number;
  /** Every API name of the server, for `http://api-<name>:8888` chaining. */
  apiNames: string[];
  /** handler.log_level: filters the handler's own lines. */
  logLevel: LogLevel;
  /** --log-level: filters the runtime's lines (access log, errors). */
  runtimeLogLevel: LogLevel;
  accessLog: boolean;
  /** `ctx.client` is available (its calls go to the main thread, no token). */
  control: boolean;
  /**
   * The API's edge checks (CORS, key hashes, rate limit) for requests on
   * this replica's own listener; absent in replicas that do not listen.
   */
  edge?: EdgeInit;
  /** `handler.models` URLs → their downloaded file (read-only here). */
  modelFiles?: Record<string, string>;
  /** Tracing is on: record spans and send them as `trace.spans`. */
  tracing?: boolean;
  /**
   * A gRPC API's compiled descriptors, for Connect and gRPC-Web on the HTTP
   * port (src/grpc/replica/connect_serve.ts).
   */
  grpc?: { descriptorSet: Uint8Array };
}

/** Main thread → replica. */
export type ToReplica =
  | ReplicaInit
  | { type: "http.request"; id: number; req: WireRequest; admitted: boolean }
  | { type: "http.cancel"; id: number }
  /** The serving process takes `n` more chunks of streamed response `id`. */
  | { type: "http.credit"; id: number; n: number }
  | {
    type: "forward.response";
    id: number;
    res?: WireResponse;
    error?: string;
    /** A hand-off no other replica had room for: run it here. */
    declined?: boolean;
    /** The body follows in `forward.chunk`s and a `forward.end`. */
    streaming?: true;
  }
  | { type: "forward.chunk"; id: number; chunk: Uint8Array }
  | { type: "forward.end"; id: number; error?: true }
  | { type: "drain" }
  | { type: "routes"; routes: Route[]; apiNames: string[] }
  /** Stop listening on the HTTP port (another HTTP API was deployed). */
  | { type: "unlisten" }
  /** How many replicas of its API are ready (for hand-offs). */
  | { type: "peers"; ready: number }
  | { type: "stats.pull"; id: number }
  | { type: "grpc"; msg: GrpcToReplica }
  /** The answer to `edge.take`: 0 admitted, else seconds until a token. */
  | { type: "edge.taken"; id: number; wait: number }
  /**
   * A WebSocket the serving process upgraded (admitted on this replica) for
   * request `req` (no body): run `handleWebSocket`; then `ws.opened` when
   * the client's side is open, its messages, and `ws.closed` once.
   */
  | { type: "ws.open"; id: number; req: WireRequest }
  | { type: "ws.opened"; id: number }
  | { type: "ws.message"; id: number; data: string | Uint8Array }
  | { type: "ws.closed"; id: number; code: number; reason: string }
  | ControlToReplica;

/** Replica → main thread. */
export type FromReplica =
  /** The first message on a new channel (see src/server/replica_socket.ts). */
  | { type: "hello"; nonce: string }
  | { type: "ready"; methods: string[]; listening: boolean }
  | { type: "failed"; message: string; stack: string }
  | { type: "log"; chunk: string }
  | {
    type: "http.response";
    id: number;
    res: WireResponse;
    /** The body follows in `http.chunk`s and an `http.end` (res.body is null). */
    streaming?: true;
  }
  | { type: "http.chunk"; id: number; chunk: Uint8Array }
  /** The replica takes `n` more chunks of streamed forward answer `id`. */
  | { type: "forward.credit"; id: number; n: number }
  /** The streamed body of `id` ended (`error`: cut short). */
  | { type: "http.end"; id: number; error?: true }
  | {
    type: "forward.request";
    id: number;
    /** Target API (chaining), or null to route by path (healthz, metrics, other APIs). */
    api: string | null;
    req: WireRequest;
    /**
     * A request of the sender's own API that it has no free slot for: run it
     * on another replica with a free slot, or decline.
     */
    handoff?: boolean;
    /** The client's address, for a request that arrived on the sender's listener. */
    client?: string;
  }
  | { type: "forward.cancel"; id: number }
  /**
   * A token of the API's shared rate limit (networking.rate_limit) for a
   * request on the sender's listener: bucket "api", "key:<label>" or
   * "client:<address>".
   */
  | { type: "edge.take"; id: number; bucket: string }
  | {
    type: "stats";
    id: number;
    stats: StatsSnapshot;
    custom: CustomSeries[];
    /** The replica's own listener's counters, when it listens. */
    connections?: ConnectionStats;
    /** Batch histograms, when its API batches (server_side_batching). */
    batches?: BatchSnapshot;
    /** Streamed responses: time to first byte and duration. */
    streams?: StreamSnapshot;
  }
  | { type: "drained" }
  /**
   * Heartbeat, every 250 ms: work held (running, queued, callbacks), queued
   * requests and the process's resident memory in bytes.
   */
  | {
    type: "load";
    load: number;
    queued: number;
    rss: number;
    /** Requests handed to other replicas so far. */
    handedOff: number;
    /** Clients asked to reconnect so far (see reconnect_policy.ts). */
    reconnects: number;
  }
  | { type: "grpc"; msg: GrpcFromReplica }
  /** Finished spans (tracing on), exported by the serving process. */
  | { type: "trace.spans"; spans: SpanData[] }
  /** A message from the handler to the client of relayed WebSocket `id`. */
  | { type: "ws.send"; id: number; data: string | Uint8Array }
  /** The handler closes relayed WebSocket `id`. */
  | { type: "ws.close"; id: number; code?: number; reason?: string }
  | ControlFromReplica;

/** A body read for a hand-off was longer than the limit. */
export class BodyTooLarge extends RangeError {
  override name = "BodyTooLarge";
}

/** Reads a body, failing as soon as it passes `max` bytes. */
async function readBody(body: ReadableStream<Uint8Array>, max: number) {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > max) {
      await body.cancel().catch(() => {});
      throw new BodyTooLarge(`Request body is larger than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Serialises a request's head and body, read whole but never past `maxBody`
 * bytes (declared or streamed): {@linkcode BodyTooLarge} otherwise.
 */
export async function toWireRequest(
  req: Request,
  maxBody = Infinity,
): Promise<WireRequest> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBody) {
    throw new BodyTooLarge(`Request body is larger than ${maxBody} bytes`);
  }
  const body = req.body === null ? null : await readBody(req.body, maxBody);
  const headers = [...req.headers].filter(([k]) =>
    k !== "content-length" && k !== "transfer-encoding"
  );
  // The body is whole now: its length is what the receiver must see.
  if (body !== null) headers.push(["content-length", String(body.byteLength)]);
  return { method: req.method, url: req.url, headers, body };
}

/** Rebuilds a Request from plain data. */
export function fromWireRequest(w: WireRequest, signal?: AbortSignal): Request {
  const hasBody = w.body !== null && w.method !== "GET" && w.method !== "HEAD";
  return new Request(w.url, {
    method: w.method,
    headers: w.headers,
    body: hasBody ? w.body as Uint8Array<ArrayBuffer> : null,
    signal,
  });
}

/** Serialises a response, reading its whole body. */
export async function toWireResponse(res: Response): Promise<WireResponse> {
  const body = res.body === null
    ? null
    : new Uint8Array(await res.arrayBuffer());
  return { status: res.status, headers: [...res.headers], body };
}

/** Rebuilds a Response from plain data. */
export function fromWireResponse(w: WireResponse): Response {
  const nullBody = w.status === 204 || w.status === 304;
  return new Response(
    nullBody ? null : w.body as Uint8Array<ArrayBuffer> | null,
    { status: w.status, headers: w.headers },
  );
}
