/**
 * The messages between the main thread and a replica worker. Only plain data
 * crosses (structured clone): errors travel as `{ name, message, stack }`.
 *
 * @module
 */

import type { ApiConfig, LogLevel } from "../config/types.ts";
import type { CustomSeries } from "../metrics/custom_metrics.ts";
import type { StatsSnapshot } from "../metrics/request_stats.ts";
import type {
  ControlFromReplica,
  ControlToReplica,
} from "../control/proxy_messages.ts";

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
  slot: number;
  projectDir: string;
  scratchDir: string;
  /** The handler's environment: .env, handler.env, CORTEX_*. */
  env: Record<string, string>;
  admission: SharedArrayBuffer;
  /** Where to run this replica's own Deno.serve (null: gRPC-only API). */
  listen: { hostname: string; port: number } | null;
  routes: Route[];
  /** Every API name of the server, for `http://api-<name>:8888` chaining. */
  apiNames: string[];
  /** handler.log_level: filters the handler's own lines. */
  logLevel: LogLevel;
  /** --log-level: filters the runtime's lines (access log, errors). */
  runtimeLogLevel: LogLevel;
  accessLog: boolean;
  /** `ctx.client` is available (its calls go to the main thread, no token). */
  control: boolean;
}

/** Main thread → replica. */
export type ToReplica =
  | ReplicaInit
  | { type: "http.request"; id: number; req: WireRequest; admitted: boolean }
  | { type: "http.cancel"; id: number }
  | { type: "forward.response"; id: number; res?: WireResponse; error?: string }
  | { type: "drain" }
  | { type: "routes"; routes: Route[]; apiNames: string[] }
  | { type: "stats.pull"; id: number }
  | { type: "grpc"; msg: { type: string; callId: number } }
  | ControlToReplica;

/** Replica → main thread. */
export type FromReplica =
  | { type: "ready"; methods: string[]; listening: boolean }
  | { type: "failed"; message: string; stack: string }
  | { type: "log"; chunk: string }
  | { type: "http.response"; id: number; res: WireResponse }
  | {
    type: "forward.request";
    id: number;
    /** Target API (chaining), or null to route by path (healthz, metrics, other APIs). */
    api: string | null;
    req: WireRequest;
  }
  | { type: "forward.cancel"; id: number }
  | {
    type: "stats";
    id: number;
    stats: StatsSnapshot;
    custom: CustomSeries[];
  }
  | { type: "drained" }
  | { type: "grpc"; msg: { type: string; callId: number } }
  | ControlFromReplica;

/** Serialises a request's head and (fully read) body. */
export async function toWireRequest(req: Request): Promise<WireRequest> {
  const body = req.body === null
    ? null
    : new Uint8Array(await req.arrayBuffer());
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
