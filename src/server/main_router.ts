/**
 * The main thread's HTTP router: `/healthz`, `/metrics`, and requests it
 * hands to an API's replicas (chained calls, requests that reached another
 * API's replica, and the fallback listener).
 *
 * @module
 */

import { unsupportedMethod } from "../http/refusals.ts";
import { errorResponse } from "../http/response.ts";
import { guardBody, withoutBody } from "../http/body_guard.ts";
import {
  normalizedRequest,
  requestPath,
  routeFor,
} from "../http/request_path.ts";
import type {
  FromReplica,
  Route,
  WireRequest,
} from "../wire/replica_messages.ts";
import { type Edge, verbsOf } from "../edge/edge.ts";
import { editHeaders } from "../edge/cors.ts";
import { type KeyHash, matchKey, presentedKey } from "../edge/keys.ts";
import { fromWireRequest, toWireResponse } from "../wire/replica_messages.ts";
import { bytesStream, ForwardedStream } from "../wire/stream_forward.ts";
import {
  forwardBodyBudget,
  INLINE_BODY_BYTES,
} from "../wire/channel_limits.ts";
import { isStreamedAnswer } from "./forwarding.ts";
import type { Forwarding } from "./forwarding.ts";
import { healthResponse } from "./healthz_endpoint.ts";
import type { SocketRelay } from "./socket_relay.ts";
import { isWebSocketUpgrade, takesWebSockets } from "../websocket/upgrade.ts";
import { collectMetrics } from "./metrics_endpoint.ts";
import type { Replica } from "./replica.ts";
import type { ApiRuntime } from "./project_server.ts";
import type { TraceExporter } from "../trace/exporter.ts";
import { nowMs, refusedSpan } from "../trace/span.ts";
import { parentOf } from "../edge/trace.ts";
import type {
  ConnectionLimits,
  ConnectionStats,
} from "../http/guarded_server.ts";

type StatsMsg = Extract<FromReplica, { type: "stats" }>;

/**
 * Lets a browser's gRPC-Web and Connect clients read the status of a call
 * answered in headers (gRPC-Web's trailers-only responses), when CORS
 * exposes headers at all.
 */
function exposeGrpcHeaders(res: Response): Response {
  const exposed = res.headers.get("access-control-expose-headers");
  if (exposed === null) return res;
  return editHeaders(res, (h) =>
    h.set(
      "access-control-expose-headers",
      `${exposed}, grpc-status, grpc-message, grpc-status-details-bin`,
    ));
}

/** The largest `handler.max_body_size` of the server's APIs. */
export function largestBodyBytes(apis: Map<string, ApiRuntime>): number {
  let largest = 0;
  for (const { pool } of apis.values()) {
    largest = Math.max(largest, pool.api.handler.maxBodyBytes);
  }
  return largest;
}

/** What the router needs from the server. */
export interface RouterHost {
  readonly apis: Map<string, ApiRuntime>;
  readonly forwarding: Forwarding;
  readonly draining: boolean;
  routes(): Route[];
  /** Keys `/metrics` requires (`CORTEX_METRICS_KEYS`), or none. */
  readonly metricsKeys?: KeyHash[] | null;
  /** The edge checks of API `name` (src/edge/), or null. */
  edgeOf?(name: string): Edge | null;
  /** WebSockets upgraded here and relayed to replicas. */
  readonly relay?: SocketRelay;
  /** True for a request on a connection that can become a WebSocket. */
  canUpgrade?(req: Request): boolean;
  /** The main thread's listener counters and limits, for /metrics. */
  readonly connections?: ConnectionStats;
  readonly limits?: ConnectionLimits;
  /** The span exporter, while tracing is on (refusals get a span here). */
  readonly traces?: TraceExporter | null;
}

/** Routes requests that the main thread answers or forwards. */
export class MainRouter {
  readonly #host: RouterHost;
  readonly #forwardAborts = new Map<string, AbortController>();
  readonly #forwardStreams = new Map<string, ForwardedStream>();
  /** Bytes of request bodies each replica's forwards hold here now. */
  readonly #forwardBodies = new Map<Replica, number>();
  #metricsId = 1;
  readonly #metricsWaiters = new Map<
    number,
    { replica: Replica; resolve: (msg: StatsMsg) => void }
  >();

  constructor(host: RouterHost) {
    this.#host = host;
  }

  /**
   * Health, metrics, then APIs by path. `client` is the address of the
   * client (for `rate_limit.per: client`).
   */
  async route(received: Request, client = ""): Promise<Response> {
    // The same normalization as a replica's listener (src/http/request_path.ts).
    const req = normalizedRequest(received);
    const path = requestPath(req.url);
    const host = this.#host;
    let res: Response;
    const refused = unsupportedMethod(req);
    const bare = refused ??
      (path === "/healthz" || path === "/metrics" ? withoutBody(req) : req);
    if (bare instanceof Response) {
      // Refused methods cannot be handed on; /healthz and /metrics take no
      // body (a large one is refused unread).
      res = bare;
    } else if (path === "/healthz") {
      res = healthResponse(this.health(), host.draining);
    } else if (
      path === "/metrics" && host.metricsKeys && !this.#metricsKey(req)
    ) {
      res = errorResponse(
        401,
        'GET /metrics requires a key (CORTEX_METRICS_KEYS): send "Authorization: Bearer <key>" or "x-api-key: <key>"',
        {},
        { "www-authenticate": 'Bearer realm="metrics"' },
      );
    } else if (path === "/metrics") {
      res = new Response(await this.metricsText(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    } else if (host.draining) {
      res = errorResponse(503, "Server is shutting down", {}, {
        "retry-after": "1",
      });
    } else {
      const route = routeFor(host.routes(), path);
      const edge = route && host.edgeOf?.(route.api);
      // An API with no edge options: only browsers' requests are touched.
      res = !route
        ? errorResponse(404, `No API is served at "${path}"`)
        : edge?.needed(req)
        ? await this.#callChecked(edge, route.api, req, client)
        : await this.#callGuarded(route.api, req);
    }
    if (res.status !== 101 && !res.headers.has("x-request-id")) {
      res.headers.set(
        "x-request-id",
        req.headers.get("x-request-id") ?? crypto.randomUUID(),
      );
    }
    return res;
  }

  /**
   * The API's edge checks (src/edge/edge.ts, as on a replica's listener),
   * then the request; refusals are counted in the API's stats.
   */
  async #callChecked(
    edge: Edge,
    name: string,
    req: Request,
    client: string,
  ): Promise<Response> {
    const started = performance.now();
    const startedAt = this.#host.traces ? nowMs() : 0;
    const refused = await edge.check(req, client, () => this.#verbs(name));
    if (refused !== null) {
      this.#host.apis.get(name)?.pool.mainStats.observe(
        refused.status,
        (performance.now() - started) / 1000,
      );
      const span = this.#host.traces &&
        refusedSpan(
          req,
          requestPath(req.url),
          refused.status,
          startedAt,
          parentOf(req),
        );
      if (span) this.#host.traces!.add(name, [span]);
      return edge.finish(req, refused);
    }
    const res = await this.#callGuarded(name, req);
    if (res.status === 101) return res;
    const finished = edge.finish(req, res);
    return this.#isGrpc(name) ? exposeGrpcHeaders(finished) : finished;
  }

  #isGrpc(name: string): boolean {
    return (this.#host.apis.get(name)?.pool.api.handler.protobufPath ??
      null) !== null;
  }

  /**
   * The HTTP methods API `name`'s handler serves (from its ready replicas);
   * a gRPC API takes POST (Connect and gRPC-Web).
   */
  #verbs(name: string): string[] {
    if (this.#isGrpc(name)) return ["POST"];
    const pool = this.#host.apis.get(name)?.pool;
    return verbsOf(pool?.ready[0]?.methods ?? []);
  }

  #metricsKey(req: Request): boolean {
    const key = presentedKey((h) => req.headers.get(h));
    return key !== null && matchKey(this.#host.metricsKeys!, key) !== null;
  }

  /**
   * Sends a request to API `name` with the API's body limits: its declared
   * length is checked before reading (413), its streamed length and its
   * arrival within `handler.request_timeout` while reading (413, 408).
   */
  async #callGuarded(name: string, req: Request): Promise<Response> {
    const pool = this.#host.apis.get(name)?.pool;
    if (
      pool && this.#host.relay && isWebSocketUpgrade(req) &&
      pool.ready.some((r) => takesWebSockets(r.methods))
    ) {
      if (!this.#host.canUpgrade?.(req)) {
        // A connection of the guarded listener (open since before the API's
        // replicas were ready): a new one reaches the upgradable listener.
        return errorResponse(
          503,
          "This connection cannot become a WebSocket; retry on a new connection",
          {},
          { "retry-after": "0", connection: "close" },
        );
      }
      return this.#host.relay.open(pool, req);
    }
    const handler = pool?.api.handler;
    if (!handler) return await this.callApi(name, req);
    const guarded = guardBody(req, {
      maxBytes: handler.maxBodyBytes,
      timeoutMs: handler.requestTimeoutMs,
      api: name,
    });
    if (guarded instanceof Response) return guarded;
    return guarded.verdict(await this.callApi(name, guarded.request));
  }

  /** A replica's chained call to API `name`, admitted like any other. */
  #callApiWire(
    name: string,
    wire: WireRequest,
    signal: AbortSignal,
  ): Promise<Response> {
    const runtime = this.#host.apis.get(name);
    if (!runtime) {
      return Promise.reject(
        new TypeError(`No API named "${name}" is served here`),
      );
    }
    try {
      // The URL, method and headers are what a Request takes (as when the
      // call was rebuilt here), so the callee's replica can rebuild it too.
      fromWireRequest({ ...wire, body: null });
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#host.forwarding.sendWire(runtime.pool, wire, signal);
  }

  /** Sends a request to API `name` (chaining), admitted like any other. */
  callApi(name: string, req: Request): Promise<Response> {
    const runtime = this.#host.apis.get(name);
    if (!runtime) {
      return Promise.reject(
        new TypeError(`No API named "${name}" is served here`),
      );
    }
    return this.#host.forwarding.send(runtime.pool, req);
  }

  /** Answers a replica's `forward.request` (a chained call or another API's path). */
  async answerForward(
    msg: Extract<FromReplica, { type: "forward.request" }>,
    replica: Replica,
  ): Promise<void> {
    const key = `${replica.id}/${msg.id}`;
    const refused = this.#refuseBody(msg, replica);
    if (refused !== null) {
      const res = await toWireResponse(refused);
      replica.send({ type: "forward.response", id: msg.id, res });
      return;
    }
    const bytes = msg.req.body?.byteLength ?? 0;
    if (bytes > 0) {
      this.#forwardBodies.set(
        replica,
        (this.#forwardBodies.get(replica) ?? 0) + bytes,
      );
    }
    const abort = new AbortController();
    this.#forwardAborts.set(key, abort);
    try {
      if (msg.handoff) {
        const pool = this.#host.apis.get(replica.api)?.pool;
        const res = pool &&
          await this.#host.forwarding.handOff(
            pool,
            replica,
            msg.req,
            abort.signal,
          );
        if (res) await this.#answer(replica, msg.id, res, key, abort.signal);
        else {
          replica.send({
            type: "forward.response",
            id: msg.id,
            declined: true,
          });
        }
        return;
      }
      // By path: a client's request on the replica's listener (checked at
      // the edge here); by API: a chained call, internal, not checked, sent
      // on as it came (no second copy of its body).
      const res = msg.api === null
        ? await this.route(fromWireRequest(msg.req, abort.signal), msg.client)
        : await this.#callApiWire(msg.api, msg.req, abort.signal);
      await this.#answer(replica, msg.id, res, key, abort.signal);
    } catch (error) {
      replica.send({
        type: "forward.response",
        id: msg.id,
        error: String((error as Error)?.message ?? error),
      });
    } finally {
      this.#forwardAborts.delete(key);
      if (bytes > 0) {
        const left = this.#forwardBodies.get(replica)! - bytes;
        if (left > 0) this.#forwardBodies.set(replica, left);
        else this.#forwardBodies.delete(replica);
      }
    }
  }

  /**
   * A forward's body over the limit of the API it is for (413), or over
   * what the sending replica may have in flight here (503); else null. The
   * body arrived whole (the frame limit bounds it); refused at once, it is
   * not held while an answer is awaited.
   */
  #refuseBody(
    msg: Extract<FromReplica, { type: "forward.request" }>,
    replica: Replica,
  ): Response | null {
    const bytes = msg.req.body?.byteLength ?? 0;
    if (bytes === 0) return null;
    const target = msg.handoff ? replica.api : msg.api;
    const limit = target === null
      ? undefined
      : this.#host.apis.get(target)?.pool.api.handler.maxBodyBytes;
    if (limit !== undefined && bytes > limit) {
      return errorResponse(
        413,
        `Request body of ${bytes} bytes is larger than the limit of ${limit} bytes (handler.max_body_size of API "${target}")`,
      );
    }
    const budget = forwardBodyBudget(largestBodyBytes(this.#host.apis));
    const held = this.#forwardBodies.get(replica) ?? 0;
    if (held > 0 && held + bytes > budget) {
      return errorResponse(
        503,
        `Replica "${replica.id}" has ${held} bytes of request bodies in flight in chained calls; ${bytes} more would pass the limit of ${budget} bytes`,
        {},
        { "retry-after": "1" },
      );
    }
    return null;
  }

  /**
   * Sends a forward's answer: a replica's streamed answer in chunks as the
   * asking replica grants credits (`forward.credit`), and so is a body over
   * INLINE_BODY_BYTES; anything else whole.
   */
  async #answer(
    replica: Replica,
    id: number,
    res: Response,
    key: string,
    signal: AbortSignal,
  ): Promise<void> {
    let body: ReadableStream<Uint8Array> | null = res.body;
    if (!isStreamedAnswer(res)) {
      const wire = await toWireResponse(res);
      if (wire.body === null || wire.body.byteLength <= INLINE_BODY_BYTES) {
        replica.send({ type: "forward.response", id, res: wire });
        return;
      }
      body = bytesStream(wire.body); // large: in chunks, as a stream
    }
    replica.send({
      type: "forward.response",
      id,
      res: { status: res.status, headers: [...res.headers], body: null },
      streaming: true,
    });
    const stream = new ForwardedStream(body!, {
      chunk: (chunk) => replica.send({ type: "forward.chunk", id, chunk }),
      end: (error) =>
        replica.send(
          error
            ? { type: "forward.end", id, error }
            : { type: "forward.end", id },
        ),
    }, signal);
    this.#forwardStreams.set(key, stream);
    try {
      await stream.pump();
    } finally {
      this.#forwardStreams.delete(key);
    }
  }

  /** The replica takes `n` more chunks of a streamed forward answer. */
  creditForward(replica: Replica, id: number, n: number): void {
    this.#forwardStreams.get(`${replica.id}/${id}`)?.credit(n);
  }

  /**
   * A replica ended: what it asked for is cancelled (a stream it was
   * receiving would otherwise wait for its credits forever).
   */
  replicaExited(replica: Replica): void {
    const prefix = `${replica.id}/`;
    for (const [key, abort] of this.#forwardAborts) {
      if (key.startsWith(prefix)) abort.abort();
    }
  }

  /** The replica's caller gave up on a forwarded request. */
  cancelForward(replica: Replica, id: number): void {
    this.#forwardAborts.get(`${replica.id}/${id}`)?.abort();
  }

  /** A replica answered a stats pull (only its own pull counts). */
  statsArrived(msg: StatsMsg, replica: Replica): void {
    const waiter = this.#metricsWaiters.get(msg.id);
    if (waiter?.replica === replica) waiter.resolve(msg);
  }

  /** Per-API readiness for /healthz and `cortex get`. */
  health() {
    return [...this.#host.apis.values()].map(({ pool }) => ({
      name: pool.api.name,
      ready: pool.ready.length,
      status: pool.status,
      error: pool.error,
    }));
  }

  /**
   * Pulls stats from every replica and renders /metrics. Scrapes that arrive
   * while one is being rendered get that one: /metrics is open to any client
   * by default, and each render costs the serving process time that grows
   * with the handlers' own series (~0.3 s for 10,000), so many clients at
   * once must not multiply it.
   */
  metricsText(): Promise<string> {
    return this.#rendering ??= this.#renderMetrics().finally(() => {
      this.#rendering = null;
    });
  }

  #rendering: Promise<string> | null = null;

  #renderMetrics(): Promise<string> {
    return collectMetrics(this.#host, (replica) => {
      const id = this.#metricsId++;
      const { promise, resolve } = Promise.withResolvers<StatsMsg | null>();
      const timer = setTimeout(() => resolve(null), 500);
      this.#metricsWaiters.set(id, {
        replica,
        resolve: (msg) => {
          clearTimeout(timer);
          resolve(msg);
        },
      });
      replica.send({ type: "stats.pull", id });
      return promise.finally(() => this.#metricsWaiters.delete(id));
    });
  }
}
