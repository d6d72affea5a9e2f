/**
 * The HTTP entry of a replica: method, size and admission checks, then a
 * RequestRun (slot, body, handler, timeout, encoding, callback), then the
 * access log and x-request-id.
 *
 * @module
 */

import type { ApiConfig } from "../config/resolved_config.ts";
import type { HandlerLogger } from "../handler/handler_context.ts";
import { isSampled, parseTraceparent } from "../edge/trace.ts";
import { unsupportedMethod } from "../http/refusals.ts";
import { atLimitResponse, errorResponse } from "../http/response.ts";
import type { RequestStats } from "../metrics/request_stats.ts";
import type { Admission } from "./admission.ts";
import { declaredTooLarge } from "./body_limit.ts";
import {
  allowedMethods,
  findHeadMethod,
  findMethod,
  type HandlerInstance,
  type HandlerMethod,
  HTTP_METHODS,
} from "./handler_loader.ts";
import { Deadlines } from "./deadlines.ts";
import { type RequestHead, RequestRun } from "./request_run.ts";
import type { Slots } from "./slots.ts";
import type { BatchStats } from "../metrics/batch_stats.ts";
import type { StreamStats } from "../metrics/stream_stats.ts";
import type { StreamBody } from "../http/stream_body.ts";
import type { Batcher } from "./batcher.ts";
import type { httpBatcher } from "./http_batching.ts";
import type { OpenSpan, SpanRecorder } from "../trace/recorder.ts";
import { SpanKind } from "../trace/span.ts";

/** What the pipeline needs from its replica. */
export interface PipelineDeps {
  api: ApiConfig;
  handler: HandlerInstance;
  admission: Admission;
  slot: number;
  slots: Slots;
  stats: RequestStats;
  /** A handler-facing logger labelled with this request id. */
  loggerFor(requestId: string): HandlerLogger & {
    exception(message: string, error: unknown): void;
  };
  /** Writes the access line, unless access logs are off. */
  access(line: AccessEntry): void;
  /** Batch histograms, when the API batches (server_side_batching). */
  batchStats?: BatchStats;
  /**
   * Makes the POST batcher (src/replica/http_batching.ts), required when the
   * API batches: passed in so a replica loads it only then.
   */
  httpBatcher?: typeof httpBatcher;
  /** Time to first byte and duration of streamed responses. */
  streamStats?: StreamStats;
  /** Keeps the replica from draining until the promise settles. */
  track(work: Promise<unknown>): void;
  /**
   * Offers an admitted request this replica has no free slot for to
   * another replica: its response, the request back (with its body) when
   * none has room, or null (synchronously) when there is no other replica.
   */
  handOff?(
    req: Request,
    requestId: string,
  ): Promise<Response | Request> | null;
  /** Records spans when tracing is on (src/trace/recorder.ts). */
  tracer?: SpanRecorder;
  /**
   * A gRPC API's HTTP door (Connect and gRPC-Web, src/grpc/replica/connect_serve.ts):
   * when set, every request goes to it instead of the handler's HTTP methods.
   */
  rpc?(req: Request, requestId: string): Promise<Response>;
}

/** One access log entry. */
export interface AccessEntry {
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  requestId: string;
  /** The request's trace id (its traceparent's, or its server span's). */
  traceId?: string;
  bytesIn: number;
  bytesOut: number;
  /** Size of the request's batch (server_side_batching). */
  batchSize?: number;
  /** The request's server span, when tracing is on. */
  spanId?: string;
  /** A WebSocket's close code (its line is written when it closes). */
  closeCode?: number;
}

/** Options of a single call into the pipeline. */
export interface CallOptions {
  /** Already admitted (forwarded by the main thread). */
  admitted?: boolean;
  /** The request id, when the caller already chose one. */
  requestId?: string;
  /** Extra signal that aborts the request (a chaining caller's). */
  signal?: AbortSignal;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Takes a sane incoming x-request-id (chained calls) or makes a new one. */
export function requestIdOf(req: Request): string {
  const given = req.headers.get("x-request-id");
  return given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

function withRequestId(res: Response, requestId: string): Response {
  try {
    res.headers.set("x-request-id", requestId);
    return res;
  } catch {
    // Immutable headers (a fetched Response returned as is): copy them.
    const headers = new Headers(res.headers);
    headers.set("x-request-id", requestId);
    return new Response(res.body, {
      status: res.status,
      statusText: res.statusText,
      headers,
    });
  }
}

/** The path of a URL string without parsing the whole URL. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  // A scan, not slice + search: one string per call (every request's path).
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) return url.slice(start, i);
  }
  return start === 0 ? url : url.slice(start);
}

/**
 * Which responses get an access line under `handler.access_log`: all (1),
 * none (0), or a random share `rate` of them plus every one with a status of
 * 500 or more.
 */
export function accessSampler(
  rate: number,
  random: () => number = Math.random,
): (status: number) => boolean {
  if (rate >= 1) return () => true;
  if (rate <= 0) return () => false;
  return (status) => status >= 500 || random() < rate;
}

/** What every request of a pipeline shares. */
export interface PipelineContext {
  deps: PipelineDeps;
  api: PipelineDeps["api"];
  timeoutMs: number;
  maxBody: number;
  tooLargeMessage: string;
  deadlines: Deadlines;
  /** Groups POST requests into batches (server_side_batching), else null. */
  batcher: Batcher<unknown> | null;
  /** HTTP methods whose handler method is declared in its class's `streams`. */
  sseMethods: ReadonlySet<string>;
  /** `handler.sse_heartbeat` in ms, or null for none. */
  heartbeatMs: number | null;
  /** `handler.stream_timeout` in ms, or null (the default) for none. */
  streamTimeoutMs: number | null;
  /** Streamed responses still open. */
  streams: Set<StreamBody>;
  /** Logs and counts a response, and sets its x-request-id. */
  finish(
    original: Request,
    started: number,
    requestId: string,
    res: Response,
    bytesOut: number | null,
    hasId: boolean,
    batchSize: number | undefined,
    span: OpenSpan | null,
    head: RequestHead | null,
  ): Response;
}

/** Default idle time before an SSE comment heartbeat. */
export const SSE_HEARTBEAT_MS = 15_000;

/**
 * The HTTP methods a handler declares as event streams: a static `streams`
 * array of method names (`"handlePost"`, `"handle_post"`, or `"POST"`).
 */
export function declaredEventMethods(handler: object): Set<string> {
  const declared = (handler.constructor as { streams?: unknown })?.streams;
  const out = new Set<string>();
  if (!Array.isArray(declared)) return out;
  for (const name of declared) {
    if (typeof name !== "string") continue;
    const verb = name.replace(/^handle_?/i, "").toUpperCase();
    if ((HTTP_METHODS as readonly string[]).includes(verb)) out.add(verb);
  }
  if (out.has("GET")) out.add("HEAD");
  return out;
}

/** Builds the replica's request function. */
/** The access line's trace id, when the request carries a valid traceparent. */
export function traceOf(req: Request): { traceId?: string } {
  const trace = parseTraceparent(req.headers.get("traceparent"));
  return trace ? { traceId: trace.traceId } : {};
}

export function createHttpPipeline(deps: PipelineDeps) {
  const { api, admission, slot, tracer } = deps;
  const maxBody = api.handler.maxBodyBytes;
  const ctx: PipelineContext = {
    deps,
    api,
    timeoutMs: api.handler.requestTimeoutMs,
    maxBody,
    tooLargeMessage:
      `Request body is larger than the limit of ${maxBody} bytes (handler.max_body_size)`,
    deadlines: new Deadlines(Math.min(100, api.handler.requestTimeoutMs / 10)),
    batcher: null,
    sseMethods: declaredEventMethods(deps.handler),
    heartbeatMs: api.handler.sseHeartbeatMs === undefined
      ? SSE_HEARTBEAT_MS
      : api.handler.sseHeartbeatMs,
    streamTimeoutMs: api.handler.streamTimeoutMs ?? null,
    streams: new Set(),
    finish,
  };
  const methods = new Map<string, HandlerMethod | null>(
    HTTP_METHODS.map((verb) => [verb, findMethod(deps.handler, verb)]),
  );
  // With server_side_batching, POST goes through the batcher: its requests
  // take no slot each (a running batch holds one) and are never handed off.
  const batchedPost = api.handler.serverSideBatching
    ? methods.get("POST") ?? null
    : null;
  if (batchedPost) {
    if (!deps.httpBatcher) {
      throw new TypeError(
        `API "${api.name}" has server_side_batching: createHttpPipeline() needs httpBatcher`,
      );
    }
    ctx.batcher = deps.httpBatcher(deps, batchedPost);
  }
  methods.set("HEAD", findHeadMethod(deps.handler));
  const allow = allowedMethods(deps.handler).join(", ");
  const logged = accessSampler(api.handler.accessLog ?? 1);

  /** Logs and counts the response, and sets its x-request-id. */
  function finish(
    original: Request,
    started: number,
    requestId: string,
    res: Response,
    bytesOut: number | null = null,
    hasId = false,
    batchSize?: number,
    span: OpenSpan | null = null,
    head: RequestHead | null = null,
  ): Response {
    if (span !== null) {
      span.set("http.response.status_code", res.status);
      span.end(res.status >= 500 ? `HTTP ${res.status}` : undefined);
    }
    const latency = performance.now() - started;
    deps.stats.observe(res.status, latency / 1000);
    if (logged(res.status)) {
      // One object of one shape per request (no spreads of temporary ones).
      const entry: AccessEntry = {
        method: original.method,
        path: pathOf(original.url),
        status: res.status,
        latencyMs: Math.round(latency * 100) / 100,
        requestId,
        bytesIn: Number(
          (head === null
            ? original.headers.get("content-length")
            : head.contentLength) ?? 0,
        ),
        bytesOut: bytesOut ?? Number(res.headers.get("content-length") ?? 0),
      };
      const traceparent = head === null
        ? original.headers.get("traceparent")
        : head.traceparent;
      if (span !== null) {
        entry.traceId = span.traceId;
        entry.spanId = span.spanId;
      } else if (traceparent !== null) {
        const traceId = parseTraceparent(traceparent)?.traceId;
        if (traceId !== undefined) entry.traceId = traceId;
      }
      if (batchSize !== undefined) entry.batchSize = batchSize;
      deps.access(entry);
    }
    return hasId ? res : withRequestId(res, requestId);
  }

  /**
   * An answer given before the request runs. A forwarded request was
   * admitted by the main thread on this replica's slot: it leaves the
   * in-flight count here, as a RequestRun's end would.
   */
  function refuse(
    original: Request,
    started: number,
    requestId: string,
    admitted: boolean | undefined,
    res: Response,
    hasId = false,
    span: OpenSpan | null = null,
  ): Response {
    if (admitted) {
      admission.addLoad(slot, -1);
      admission.finish();
    }
    return finish(
      original,
      started,
      requestId,
      res,
      null,
      hasId,
      undefined,
      span,
    );
  }

  /** Ends every open stream cleanly (shutdown after the grace period). */
  function endStreams(): void {
    for (const stream of [...ctx.streams]) stream.end();
  }

  return Object.assign(handle, { endStreams });

  function handle(
    original: Request,
    opts: CallOptions = {},
  ): Promise<Response> | Response {
    const started = performance.now();
    const requestId = opts.requestId ?? requestIdOf(original);
    if (deps.rpc) return serveRpc(deps.rpc, original, started, requestId, opts);
    const span = tracer === undefined ? null : serverSpan(original, requestId);
    let method = methods.get(original.method);
    if (method === undefined) {
      const refused = unsupportedMethod(original, () => requestId);
      if (refused) {
        return refuse(
          original,
          started,
          requestId,
          opts.admitted,
          refused,
          true,
          span,
        );
      }
      method = findMethod(deps.handler, original.method);
    }
    if (!method) {
      return refuse(
        original,
        started,
        requestId,
        opts.admitted,
        errorResponse(
          405,
          `Method "${original.method}" is not implemented by API "${api.name}"`,
          {},
          { allow },
        ),
        false,
        span,
      );
    }
    // Each header once per request (src/replica/request_run.ts RequestHead).
    const head: RequestHead = {
      contentLength: original.headers.get("content-length"),
      traceparent: original.headers.get("traceparent"),
    };
    if (declaredTooLarge(head.contentLength, maxBody)) {
      return refuse(
        original,
        started,
        requestId,
        opts.admitted,
        errorResponse(413, ctx.tooLargeMessage),
        false,
        span,
      );
    }
    if (!opts.admitted) {
      if (!admission.tryAdmit()) {
        return finish(
          original,
          started,
          requestId,
          atLimitResponse(api.name),
          null,
          false,
          undefined,
          span,
        );
      }
      // Admitted: in flight until it and its callback end.
      admission.addLoad(slot, 1);
      const handed = deps.slots.free === 0 && method !== batchedPost
        ? deps.handOff?.(original, requestId)
        : null;
      if (handed) {
        return handed.then((outcome) => {
          if (outcome instanceof Request) {
            return runHere(
              outcome,
              started,
              requestId,
              method,
              opts,
              span,
              head,
            );
          }
          // Served (and logged and counted) by the replica that took it.
          admission.addLoad(slot, -1);
          admission.finish();
          span?.set("http.response.status_code", outcome.status);
          span?.set("cortex.handed_off", true);
          span?.end();
          return outcome;
        });
      }
    }
    return runHere(
      original,
      started,
      requestId,
      method,
      opts,
      span,
      head,
    );
  }

  /**
   * The request's span: a child of its `traceparent`, else a new trace;
   * null when the caller does not sample the trace.
   */
  function serverSpan(req: Request, requestId: string): OpenSpan | null {
    const path = pathOf(req.url);
    const parent = parseTraceparent(req.headers.get("traceparent"));
    if (parent !== null && !isSampled(parent)) return null;
    return tracer!.start(
      `${req.method} ${path}`,
      SpanKind.SERVER,
      parent,
      {
        "http.request.method": req.method,
        "url.path": path,
        "cortex.request_id": requestId,
      },
    );
  }

  /**
   * A Connect or gRPC-Web call: admitted like any request and in flight
   * until its response body ends (a server stream included); the call takes
   * its slot and keeps its deadline in the replica side, as on the gRPC port.
   */
  async function serveRpc(
    rpc: NonNullable<PipelineDeps["rpc"]>,
    original: Request,
    started: number,
    requestId: string,
    opts: CallOptions,
  ): Promise<Response> {
    if (!opts.admitted) {
      if (!admission.tryAdmit()) {
        return finish(
          original,
          started,
          requestId,
          atLimitResponse(api.name),
        );
      }
      admission.addLoad(slot, 1);
    }
    const { promise: ended, resolve: end } = Promise.withResolvers<void>();
    deps.track(ended);
    ended.then(() => {
      admission.addLoad(slot, -1);
      admission.finish();
    });
    const req = opts.signal
      ? new Request(original, {
        signal: AbortSignal.any([original.signal, opts.signal]),
      })
      : original;
    let res: Response;
    try {
      res = await rpc(req, requestId);
    } catch (err) {
      end();
      deps.loggerFor(requestId).exception("Connect request failed", err);
      res = errorResponse(500, `Internal error (request id "${requestId}")`);
      return finish(original, started, requestId, res);
    }
    if (res.body === null) end();
    else {
      const body = res.body.pipeThrough(
        new TransformStream({ flush: () => end() }),
      );
      // A client that goes away cancels the body: the call ends too.
      original.signal.addEventListener("abort", () => end(), { once: true });
      res = new Response(body, { status: res.status, headers: res.headers });
    }
    return finish(original, started, requestId, res);
  }

  /**
   * Runs `req` here: the request itself, or the one a hand-off gave back
   * (same method, URL and headers), which its access line then describes.
   */
  function runHere(
    req: Request,
    started: number,
    requestId: string,
    method: HandlerMethod,
    opts: CallOptions,
    span: OpenSpan | null,
    head: RequestHead,
  ): Promise<Response> {
    // The run logs and counts its response itself (ctx.finish): no
    // promise hop per request here.
    return new RequestRun(
      ctx,
      req,
      requestId,
      method,
      opts.signal,
      method === batchedPost,
      span,
      started,
      head,
    ).run();
  }
}
