/**
 * A replica's runtime: one sandboxed process running one handler instance.
 * When the server has a single HTTP API it serves that API's requests on its
 * own `Deno.serve` (all replicas share the port with `reusePort`, so most
 * requests never cross a process); it takes forwarded HTTP requests, chained
 * calls and gRPC calls from the serving process over its private channel.
 *
 * Everything the runtime needs from the outside (the channel, the listener,
 * `Deno.memoryUsage`) is captured before the handler's module loads.
 *
 * @module
 */

import { LineBuffer } from "../log/line_buffer.ts";
import { Logger } from "../log/logger.ts";
import { accessLineFormatter } from "../log/access_line.ts";
import { makeConsole } from "../log/console_capture.ts";
import { BackendFallbackNotes } from "./backend_fallback.ts";
import { RequestStats } from "../metrics/request_stats.ts";
import { BatchStats } from "../metrics/batch_stats.ts";
import { StreamStats } from "../metrics/stream_stats.ts";
import { CustomMetrics } from "../metrics/custom_metrics.ts";
import { errorResponse, isStreamedResponse } from "../http/response.ts";
import { ForwardedStream, ReceivedStreams } from "./stream_forward.ts";
import { withoutBody } from "../http/body_guard.ts";
import {
  askToReconnect,
  DEFAULT_LIMITS,
  type GuardedServer,
  newConnectionStats,
  serveGuarded,
} from "../http/guarded_server.ts";
import { Admission, createAdmissionBuffer } from "./admission.ts";
import { unreadableBody, unsupportedMethod } from "../http/refusals.ts";
import { normalizedRequest, routeFor } from "../http/request_path.ts";
import { chainingFetch } from "./chaining.ts";
import { installEnv } from "./env_shim.ts";
import { installProcessGuards } from "./process_guards.ts";
import {
  findHandlerClass,
  findWebSocketMethod,
  type HandlerInstance,
} from "./handler_loader.ts";
import { WebSocketSessions } from "./websocket_sessions.ts";
import { isWebSocketUpgrade } from "../websocket/upgrade.ts";
import { serveUpgradable } from "../http/upgradable_server.ts";
import { RelayedTransport } from "../websocket/relayed_transport.ts";
import {
  createHttpPipeline,
  pathOf,
  requestIdOf,
  traceOf,
} from "./http_pipeline.ts";
import type { FromReplica, ReplicaInit, ToReplica } from "./messages.ts";
import {
  BodyTooLarge,
  fromWireRequest,
  fromWireResponse,
  toWireRequest,
  toWireResponse,
  type WireRequest,
} from "./messages.ts";
import {
  explainPermissionText,
  installPermissionHints,
} from "./permission_hints.ts";
import {
  currentRequestId,
  currentTrace,
  currentTraceparent,
} from "./request_context.ts";
import { SpanRecorder } from "../trace/recorder.ts";
import { nowMs, refusedSpan, SpanKind } from "../trace/span.ts";
import { parentOf } from "../edge/trace.ts";
import { Slots } from "./slots.ts";
import { ReconnectPolicy } from "./reconnect_policy.ts";
import { ReplicaGrpc } from "./replica_grpc.ts";
import { ProxiedControl } from "./control_client.ts";
import { Edge } from "../edge/edge.ts";
import { allowedMethods } from "./handler_loader.ts";
import { denoModelFs, type ModelSource, ModelStore } from "./models.ts";
// Loaded up front so handlers can import "cortex" (HttpError, GrpcError)
// without read access to the runtime's files.
import "../../mod.ts";

/** The replica's end of its private channel to the serving process. */
export interface ParentChannel {
  post(msg: FromReplica): void;
  /**
   * Posts a batch of log lines (a `log` message's chunk) as a text frame:
   * no `node:v8` serialization on either side.
   */
  postLog(chunk: string): void;
  /** Sets the receiver of the serving process's messages. */
  onMessage(receive: (msg: ToReplica) => void): void;
  /** Resolves when everything posted so far is written. */
  flushed(): Promise<void>;
}

/** How often a replica reports its load (also its heartbeat). */
export const LOAD_REPORT_MS = 250;

/** The optional method awaited before a replica is ready. */
const INIT = "init";

/** The method `ctx.models` loads a model with. */
const LOAD_MODEL = "loadModel";

/** How soon a change of load is reported. */
const REPORT_DELAY_MS = 5;

/** The only slot of a replica's own admission counters. */
const SLOT = 0;

/** Starts the replica described by `init`; rejects if the handler cannot load. */
export async function startReplica(
  init: ReplicaInit,
  channel: ParentChannel,
): Promise<void> {
  const { api } = init;
  const post = channel.post;
  const memoryUsage = Deno.memoryUsage;
  const upgradeWebSocket = Deno.upgradeWebSocket;
  // Load reports carry the RSS, read once per heartbeat (LOAD_REPORT_MS): a
  // read costs ~30 µs, and under load there are up to 200 reports a second.
  // Declared before anything can post a load report.
  let rss = memoryUsage().rss;
  installEnv(init.env);
  installProcessGuards(); // before the handler loads: src/replica/process_guards.ts
  const logs = new LineBuffer((chunk) => channel.postLog(chunk), {
    maxBytes: 256 * 1024,
    delayMs: 10,
  });
  const base = new Logger({
    level: init.logLevel,
    labels: { apiName: api.name, apiKind: api.kind, replicaId: init.replicaId },
    write: (lines) => logs.push(lines),
    trace: currentTrace,
  });
  const runtime = new Logger({
    level: init.runtimeLogLevel,
    labels: { apiName: api.name, apiKind: api.kind, replicaId: init.replicaId },
    write: (lines) => logs.push(lines),
    trace: currentTrace,
  });
  // Tracing on: spans go to the serving process, which exports them.
  const tracer = init.tracing
    ? new SpanRecorder((spans) => post({ type: "trace.spans", spans }))
    : undefined;
  const accessLine = accessLineFormatter(
    { apiName: api.name, apiKind: api.kind, replicaId: init.replicaId },
    Deno.pid,
  );
  const scoped = () => {
    const requestId = currentRequestId();
    return requestId ? base.child({ requestId }) : base;
  };
  const handlerLogger = {
    debug: (m: string, o?: { extra?: Record<string, unknown> }) =>
      scoped().debug(m, o),
    info: (m: string, o?: { extra?: Record<string, unknown> }) =>
      scoped().info(m, o),
    warning: (m: string, o?: { extra?: Record<string, unknown> }) =>
      scoped().warning(m, o),
    error: (m: string, o?: { extra?: Record<string, unknown> }) =>
      scoped().error(m, o),
    exception: (
      m: string,
      e: unknown,
      o?: { extra?: Record<string, unknown> },
    ) => scoped().exception(m, e, o),
  };
  // Libraries log permission denials they hit (emscripten: "failed to
  // asynchronously prepare wasm: NotCapable: ..."): with the runtime's hint;
  // and a tfjs backend that fails says that tfjs falls back, and why.
  const fallbacks = new BackendFallbackNotes();
  globalThis.console = makeConsole(
    scoped,
    (text) => fallbacks.rewrite(explainPermissionText(text)),
  );

  // Cortex's max_replica_concurrency: what this replica admits, running
  // and queued; the serving process admits what it sends here the same way.
  // Load changes are reported within REPORT_DELAY_MS (one message for many).
  // Declared before anything can post a load report (which counts its asks).
  const reconnect = new ReconnectPolicy();
  let reportTimer: ReturnType<typeof setTimeout> | undefined;
  const reportSoon = () => {
    reportTimer ??= setTimeout(() => {
      reportTimer = undefined;
      report();
    }, REPORT_DELAY_MS);
  };
  const admission = new Admission(createAdmissionBuffer(), reportSoon);
  admission.limit = api.autoscaling.maxReplicaConcurrency;
  const slots = new Slots(
    api.handler.processesPerReplica * api.handler.threadsPerProcess,
    (delta) => admission.addQueued(delta, SLOT),
  );
  const stats = new RequestStats();
  const batchStats = api.handler.serverSideBatching ? new BatchStats() : null;
  const streamStats = new StreamStats();
  const metrics = new CustomMetrics();
  const pendingWork = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    pendingWork.add(work);
    // then(f, f), not finally(): a rejected `work` must not become an
    // unhandled rejection, which would end the replica.
    const forget = () => void pendingWork.delete(work);
    work.then(forget, forget);
  };

  // Requests this replica sent to the main thread (other APIs, healthz, chains).
  let nextForwardId = 1;
  const forwards = new Map<
    number,
    { resolve: (r: Response | null) => void; reject: (e: Error) => void }
  >();
  async function forward(
    api: string | null,
    req: Request,
    maxBody = Infinity,
    client?: string,
  ): Promise<Response> {
    let wire: WireRequest;
    try {
      wire = await toWireRequest(req, maxBody);
    } catch (error) {
      // A client's body cut short: 400, as in the pipeline.
      if (api === null && !(error instanceof BodyTooLarge)) {
        return unreadableBody(error, requestIdOf(req));
      }
      throw error;
    }
    return (await send(api, wire, req.signal, false, client))!;
  }

  /** Sends a request to the serving process; null when a hand-off is declined. */
  async function send(
    api: string | null,
    wire: WireRequest,
    signal: AbortSignal,
    handoff: boolean,
    client?: string,
  ): Promise<Response | null> {
    const id = nextForwardId++;
    const req = { signal };
    const { promise, resolve, reject } = Promise.withResolvers<
      Response | null
    >();
    forwards.set(id, { resolve, reject });
    const onAbort = () => {
      post({ type: "forward.cancel", id });
      forwards.delete(id);
      reject(req.signal.reason ?? new DOMException("Aborted", "AbortError"));
    };
    req.signal.addEventListener("abort", onAbort, { once: true });
    // The serving process sees this replica's load as of now (the channel
    // keeps order): a /metrics scrape right after a request counts it done.
    report();
    post(
      client === undefined
        ? { type: "forward.request", id, api, req: wire, handoff }
        : { type: "forward.request", id, api, req: wire, handoff, client },
    );
    return await promise.finally(() =>
      req.signal.removeEventListener("abort", onAbort)
    );
  }

  // Ready replicas of this API (the serving process tells us): with others
  // around, a request this replica has no free slot for goes to one with a
  // free slot instead of waiting here.
  let peers = init.peers;
  let handedOff = 0;
  async function handOff(
    req: Request,
    requestId: string,
  ): Promise<Response | Request> {
    let wire: WireRequest;
    try {
      wire = await toWireRequest(req, api.handler.maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      return errorResponse(
        413,
        `Request body is larger than the limit of ${api.handler.maxBodyBytes} bytes (handler.max_body_size)`,
      );
    }
    wire.headers = wire.headers.filter(([k]) => k !== "x-request-id");
    wire.headers.push(["x-request-id", requestId]);
    const res = await send(api.name, wire, req.signal, true);
    if (res === null) return fromWireRequest(wire, req.signal);
    handedOff++;
    return res;
  }

  /**
   * A request this replica does not serve itself: /healthz and /metrics
   * (without a body), or anything while its handler is still being
   * constructed, handed to the serving process (bounded by our body limit).
   */
  const handOn = (
    req: Request,
    client?: string,
  ): Response | Promise<Response> => {
    const refused = unsupportedMethod(req, requestIdOf);
    if (refused) return refused;
    const path = pathOf(req.url);
    if (path === "/healthz" || path === "/metrics") {
      // No body: never read here nor handed on.
      const bare = withoutBody(req);
      return bare instanceof Response ? bare : forward(null, bare);
    }
    const max = api.handler.maxBodyBytes;
    return forward(null, req, max, client).catch((error) =>
      error instanceof BodyTooLarge
        ? errorResponse(413, `Request body is larger than ${max} bytes`)
        : Promise.reject(error)
    );
  };
  // Requests on this replica's listener: handed on until the handler is
  // constructed (the listener exists before any handler code loads).
  let route: (
    req: Request,
    client: string,
  ) => Response | Promise<Response> = handOn;
  let server: GuardedServer | null = null;
  const connections = newConnectionStats();
  let listener: Deno.TcpListener | null = null;
  if (init.listen) {
    listener = Deno.listen({
      hostname: init.listen.hostname,
      port: init.listen.port,
      // deno-lint-ignore no-explicit-any
      ...({ reusePort: true } as any),
    }) as Deno.TcpListener;
    // The listener is bound before any handler code loads; from here on
    // nothing in this process (the handler above all) may bind or reach the
    // server's port.
    Deno.permissions.revokeSync({ name: "net", host: listenHost(init.listen) });
  }
  const onServeError = (error: unknown) => {
    base.exception("Cannot serve request", error);
    return errorResponse(500, "Internal server error");
  };
  // Requests from Deno's listener-based server, the only ones that can
  // become WebSockets (src/http/upgradable_server.ts).
  const upgradable = new WeakSet<Request>();
  let sockets: WebSocketSessions | null = null;

  installPermissionHints();
  let pipeline: ReturnType<typeof createHttpPipeline> | null = null;
  const apiNames = new Set(init.apiNames);
  globalThis.fetch = chainingFetch({
    apiNames,
    requestId: currentRequestId,
    traceparent: currentTraceparent,
    ...(tracer ? { tracer } : {}),
    call: async (target, req) =>
      target === api.name && pipeline
        ? await pipeline(req, { signal: req.signal })
        : await forward(target, req),
  }, globalThis.fetch);

  const handlerUrl = new URL(
    api.handler.path,
    `file://${init.projectDir.replace(/\/?$/, "/")}`,
  );
  const HandlerClass = findHandlerClass(
    await import(handlerUrl.href),
    api.handler.path,
  );
  // Serving starts once the module is imported (its constructor and init()
  // run later, while requests are handed on): a handler class with
  // handleWebSocket gets the listener-based server, which can upgrade.
  if (listener !== null) {
    server = findWebSocketMethod(HandlerClass.prototype) !== null
      ? serveUpgradable({
        listener,
        stats: connections,
        onError: onServeError,
        beforeShutdown: () => sockets?.idle() ?? Promise.resolve(),
      }, (raw, info) => {
        upgradable.add(raw);
        return route(normalizedRequest(raw), info.remoteAddr.hostname);
      })
      : serveGuarded(
        {
          hostname: init.listen!.hostname,
          port: init.listen!.port,
          listener,
          limits: init.limits ?? DEFAULT_LIMITS,
          stats: connections,
          onError: onServeError,
          onWarning: (message, extra) => runtime.warning(message, { extra }),
        },
        (raw, info) => route(normalizedRequest(raw), info.remoteAddr.hostname),
      );
  }
  const control = init.control ? new ProxiedControl(post) : null;
  // handler.models: the handler's loadModel() loads them (after init()).
  let handler: HandlerInstance | null = null;
  const models = api.handler.models
    ? new ModelStore({
      sources: await modelSources(init),
      cacheSize: api.handler.models.cacheSize,
      fs: denoModelFs,
      load: (path, info) => {
        const load = handler?.[LOAD_MODEL];
        if (typeof load !== "function") {
          throw new Error(
            `handler.models is set but the handler class has no ${LOAD_MODEL}(path, { name, version }) method`,
          );
        }
        const call = () =>
          (load as (p: string, i: unknown) => unknown).call(
            handler,
            path,
            info,
          );
        return tracer ? tracedLoad(tracer, info, call) : call();
      },
      onError: (message, error) => runtime.exception(message, error),
    })
    : null;
  const ctx = {
    logger: handlerLogger,
    client: control?.client ?? null,
    metrics,
    api: {
      name: api.name,
      kind: api.kind,
      endpoint: api.networking.endpoint,
      replicaId: init.replicaId,
    },
    projectDir: init.projectDir,
    scratchDir: init.scratchDir,
    models: {
      get: (name?: string, version: string | number = "latest") => {
        if (models === null) {
          return Promise.reject(
            new Error("ctx.models.get(): this API has no handler.models"),
          );
        }
        return models.get(name, version);
      },
      names: () => models?.names() ?? [],
      versions: (name: string) => models?.versions(name) ?? [],
    },
  };
  handler = new HandlerClass(
    structuredClone(api.handler.config),
    ctx,
  );
  // Asynchronous start-up (a model to load) finishes before the replica
  // says it is ready: a constructor that returns a promise of the instance,
  // then `init()` when the instance has one. Until then `/healthz` is 503,
  // nothing is routed here, and `handler.startup_timeout` bounds it all.
  if (typeof (handler as { then?: unknown }).then === "function") {
    handler = await (handler as unknown as Promise<HandlerInstance>);
  }
  if (typeof handler[INIT] === "function") {
    await (handler[INIT] as () => unknown).call(handler);
  }
  // The listed models load before the replica is ready; then changes are
  // polled (Cortex: every 10 s), one poll at a time.
  let modelPoll: ReturnType<typeof setTimeout> | undefined;
  if (models !== null) {
    await models.preload();
    const every = api.handler.models!.pollIntervalMs;
    const schedule = () => {
      modelPoll = setTimeout(() => {
        models.poll().catch((error) =>
          runtime.exception("Cannot look for model changes", error)
        ).finally(schedule);
      }, every);
    };
    schedule();
  }

  const grpc = api.handler.protobufPath
    ? new ReplicaGrpc({
      handler,
      post,
      logger: base,
      slots,
      track,
      api,
      batchStats,
      ...(tracer ? { tracer } : {}),
      ...(init.grpc
        ? {
          descriptorSet: init.grpc.descriptorSet,
          connect: (await import("../grpc/replica/connect_serve.ts"))
            .createConnectServe,
        }
        : {}),
    })
    : null;
  const door = grpc?.http ?? null;
  pipeline = createHttpPipeline({
    ...(door ? { rpc: (req, id) => door.serve(req, id) } : {}),
    api,
    handler,
    admission,
    slot: SLOT,
    slots,
    stats,
    ...(batchStats ? { batchStats } : {}),
    streamStats,
    loggerFor: (requestId) => base.child({ requestId }),
    ...(tracer ? { tracer } : {}),
    access: init.accessLog && runtime.enabled("info")
      ? (entry) => logs.push([accessLine(entry)])
      : () => {},
    track,
    handOff: (req, requestId) => {
      reconnect.overCapacity(performance.now());
      return peers > 1 ? handOff(req, requestId) : null;
    },
  });
  if (api.handler.warmup) {
    await warmup(api, pipeline, allowedMethods(handler));
  }
  // handleWebSocket: upgrades on this replica's own listener.
  const socketMethod = findWebSocketMethod(handler);
  sockets = socketMethod
    ? new WebSocketSessions({
      api,
      method: socketMethod,
      admission,
      slot: SLOT,
      loggerFor: (requestId) => base.child({ requestId }),
      access: init.accessLog && runtime.enabled("info")
        ? (entry) => logs.push([accessLine(entry)])
        : () => {},
      upgrade: upgradeWebSocket,
      canUpgrade: (req) => upgradable.has(req),
    })
    : null;
  const httpPipeline = pipeline;
  const serveOwn = (
    req: Request,
    opts: Parameters<typeof httpPipeline>[1] = {},
  ): Response | Promise<Response> =>
    sockets !== null && isWebSocketUpgrade(req)
      ? sockets.open(req, opts.requestId ?? requestIdOf(req))
      : httpPipeline(req, opts);

  // After a scale-up, a replica that had more work than slots asks some
  // clients to reconnect, so the kernel spreads them over the new replicas.
  const rebalance = (res: Response) =>
    peers > 1 && reconnect.shouldAsk(performance.now(), peers)
      ? askToReconnect(res)
      : res;

  // The API's edge checks (src/edge/edge.ts), as in the serving process's
  // router; rate-limit tokens come from the serving process, so the API's
  // replicas share one budget.
  const takes = new Map<number, (wait: number) => void>();
  let nextTake = 1;
  // node:crypto (key hashing) loads only for an API with keys.
  const match = init.edge?.keys
    ? (await import("../edge/keys.ts")).matchKey
    : null;
  const edge = init.edge
    ? new Edge(api.name, init.edge, (bucket) => {
      const id = nextTake++;
      const { promise, resolve } = Promise.withResolvers<number>();
      takes.set(id, resolve);
      post({ type: "edge.take", id, bucket });
      return promise;
    }, match)
    : null;
  const verbs = allowedMethods(handler);
  const allow = () => verbs;
  const serveChecked = (
    req: Request,
    client: string,
    requestId: string,
  ): Response | Promise<Response> => {
    const e = edge!;
    const started = performance.now();
    const startedAt = tracer ? nowMs() : 0;
    const serve = (refused: Response | null): Response | Promise<Response> => {
      if (refused !== null) {
        const span = tracer &&
          refusedSpan(
            req,
            pathOf(req.url),
            refused.status,
            startedAt,
            parentOf(req),
          );
        if (span) tracer!.record(span);
        const latency = performance.now() - started;
        stats.observe(refused.status, latency / 1000);
        if (init.accessLog && runtime.enabled("info")) {
          logs.push([accessLine({
            method: req.method,
            path: pathOf(req.url),
            status: refused.status,
            latencyMs: Math.round(latency * 100) / 100,
            requestId,
            ...traceOf(req),
            bytesIn: Number(req.headers.get("content-length") ?? 0),
            bytesOut: Number(refused.headers.get("content-length") ?? 0),
          })]);
        }
        refused.headers.set("x-request-id", requestId);
        return e.finish(req, refused);
      }
      const res = serveOwn(req, { requestId });
      const done = (r: Response) =>
        r.status === 101 ? r : e.finish(req, rebalance(r));
      return res instanceof Response ? done(res) : res.then(done);
    };
    const checked = e.check(req, client, allow);
    return checked instanceof Promise ? checked.then(serve) : serve(checked);
  };

  route = (req, client) => {
    const path = pathOf(req.url);
    const target = routeFor(init.routes, path)?.api ?? null;
    if (target === api.name) {
      const requestId = requestIdOf(req);
      if (edge?.needed(req)) return serveChecked(req, client, requestId);
      const res = serveOwn(req, { requestId });
      const done = (r: Response) => r.status === 101 ? r : rebalance(r);
      if (res instanceof Response) return done(res);
      // Alone, there is nowhere to rebalance to: no promise hop per request.
      return peers > 1 ? res.then(done) : res;
    }
    // Another API's request only while a newly deployed API takes over the
    // port: checked by the serving process's router.
    if (target !== null || path === "/healthz" || path === "/metrics") {
      return handOn(req, client);
    }
    return errorResponse(404, `No API is served at "${path}"`, {}, {
      "x-request-id": requestIdOf(req),
    });
  };

  // Requests the main thread routes to this replica.
  const incoming = new Map<number, AbortController>();
  const streams = new Map<number, ForwardedStream>();
  // Streamed answers to this replica's forwards (chained calls, hand-offs).
  const received = new ReceivedStreams(post);
  async function serveForwarded(
    id: number,
    msg: Extract<ToReplica, { type: "http.request" }>,
  ) {
    const abort = new AbortController();
    incoming.set(id, abort);
    // Admitted by the serving process: counted here too, so requests that
    // arrive on this replica's own listener see it.
    admission.admit();
    admission.addLoad(SLOT, 1);
    const req = fromWireRequest(msg.req, abort.signal);
    const requestId = requestIdOf(req);
    try {
      const res = await httpPipeline(req, {
        admitted: msg.admitted,
        requestId,
      });
      if (isStreamedResponse(res)) {
        const head = {
          status: res.status,
          headers: [...res.headers],
          body: null,
        };
        post({ type: "http.response", id, res: head, streaming: true });
        const stream = new ForwardedStream(res.body!, {
          chunk: (chunk) => post({ type: "http.chunk", id, chunk }),
          end: (error) =>
            post(
              error
                ? { type: "http.end", id, error }
                : { type: "http.end", id },
            ),
        }, abort.signal);
        streams.set(id, stream);
        return await stream.pump().finally(() => streams.delete(id));
      }
      const wire = await toWireResponse(res);
      post({ type: "http.response", id, res: wire });
    } catch (error) {
      base.exception("Cannot answer forwarded request", error);
      const res = await toWireResponse(
        errorResponse(500, "Internal server error", { request_id: requestId }),
      );
      post({ type: "http.response", id, res });
    } finally {
      incoming.delete(id);
    }
  }

  // WebSockets the serving process upgraded and relays to this replica.
  const relayed = new Map<number, RelayedTransport>();
  function openRelayed(msg: Extract<ToReplica, { type: "ws.open" }>): void {
    const { id } = msg;
    if (sockets === null) {
      post({ type: "ws.close", id, code: 1011, reason: "No handleWebSocket" });
      return;
    }
    const transport = new RelayedTransport({
      send: (data) => post({ type: "ws.send", id, data }),
      close: (code, reason) =>
        post({
          type: "ws.close",
          id,
          ...(code === undefined ? {} : { code }),
          ...(reason === undefined ? {} : { reason }),
        }),
    });
    relayed.set(id, transport);
    transport.addEventListener("close", () => relayed.delete(id));
    const req = fromWireRequest(msg.req);
    sockets.openRelayed(req, requestIdOf(req), transport);
  }

  function report(): void {
    post({
      type: "load",
      load: admission.load(SLOT),
      queued: admission.queued,
      rss,
      handedOff,
      reconnects: reconnect.asked,
    });
  }
  const heartbeat = setInterval(() => {
    rss = memoryUsage().rss;
    report();
  }, LOAD_REPORT_MS);

  async function drain(): Promise<void> {
    // Open streams run on through most of the grace period, then end cleanly.
    const grace = api.handler.shutdownGracePeriodMs;
    sockets?.drain();
    const streamsEnd = setTimeout(
      () => {
        pipeline?.endStreams();
        sockets?.closeAll();
      },
      Math.max(0, grace - Math.min(1000, grace / 5)),
    );
    await server?.shutdown();
    // Wait for everything admitted here, then for callbacks.
    while (admission.load(SLOT) > 0 || pendingWork.size > 0) {
      // Never a bare microtask loop: with no tracked work, the requests
      // still running need the event loop to finish.
      const tick = new Promise((r) => setTimeout(r, 50));
      await (pendingWork.size > 0
        ? Promise.race([Promise.allSettled([...pendingWork]), tick])
        : tick);
    }
    clearInterval(heartbeat);
    clearTimeout(streamsEnd);
    clearTimeout(modelPoll);
    logs.flushNow();
    tracer?.flush();
    post({ type: "drained" });
  }

  channel.onMessage((msg) => {
    switch (msg.type) {
      case "http.request":
        void serveForwarded(msg.id, msg);
        break;
      case "ws.open":
        openRelayed(msg);
        break;
      case "ws.opened":
        relayed.get(msg.id)?.opened();
        break;
      case "ws.message":
        relayed.get(msg.id)?.message(msg.data);
        break;
      case "ws.closed":
        relayed.get(msg.id)?.closed(msg.code, msg.reason);
        break;
      case "http.credit":
        streams.get(msg.id)?.credit(msg.n);
        break;
      case "forward.chunk":
        received.chunk(msg.id, msg.chunk);
        break;
      case "forward.end":
        received.end(msg.id, msg.error);
        break;
      case "http.cancel":
        incoming.get(msg.id)?.abort();
        break;
      case "forward.response": {
        const waiter = forwards.get(msg.id);
        forwards.delete(msg.id);
        if (!waiter) break;
        if (msg.declined) waiter.resolve(null);
        else if (msg.res && msg.streaming) {
          waiter.resolve(received.open(msg.id, msg.res));
        } else if (msg.res) waiter.resolve(fromWireResponse(msg.res));
        else waiter.reject(new TypeError(msg.error ?? "Request failed"));
        break;
      }
      case "stats.pull":
        report();
        post({
          type: "stats",
          id: msg.id,
          stats: stats.snapshot(),
          custom: metrics.snapshot(),
          connections,
          ...(batchStats ? { batches: batchStats.snapshot() } : {}),
          streams: streamStats.snapshot(),
        });
        break;
      case "drain":
        void drain();
        break;
      case "routes":
        init.routes = msg.routes;
        apiNames.clear();
        for (const name of msg.apiNames) apiNames.add(name);
        break;
      case "peers":
        peers = msg.ready;
        break;
      case "unlisten":
        void server?.shutdown();
        break;
      case "grpc":
        grpc?.onMessage(msg.msg);
        break;
      case "edge.taken": {
        const resolve = takes.get(msg.id);
        takes.delete(msg.id);
        resolve?.(msg.wait);
        break;
      }
      case "control.response":
      case "control.chunk":
        control?.onMessage(msg);
        break;
    }
  });
  report();
  logs.flushNow();
  post({
    type: "ready",
    methods: Object.getOwnPropertyNames(Object.getPrototypeOf(handler))
      .filter((name) =>
        name !== "constructor" && name !== INIT && name !== LOAD_MODEL
      ),
    listening: server !== null,
  });
}

/**
 * A model load's span: a child of the request that asked for it, else the
 * root of a trace of its own (loads before ready, reloads).
 */
async function tracedLoad(
  tracer: SpanRecorder,
  info: { name: string; version: string | number },
  load: () => unknown,
): Promise<unknown> {
  const span = tracer.start(
    `model load ${info.name}@${info.version}`,
    SpanKind.INTERNAL,
    currentTrace(),
    {
      "cortex.model.name": info.name,
      "cortex.model.version": String(info.version),
    },
  );
  try {
    const model = await load();
    span.end();
    return model;
  } catch (error) {
    span.end((error as Error)?.message ?? String(error));
    throw error;
  }
}

/** The net permission descriptor host of a listening address. */
function listenHost(listen: { hostname: string; port: number }): string {
  const host = listen.hostname.includes(":")
    ? `[${listen.hostname}]`
    : listen.hostname;
  return `${host}:${listen.port}`;
}

/**
 * `handler.models` as the store's sources: project paths and downloaded
 * URLs (`init.modelFiles`) as files, each sub-folder of `dir` as a model.
 */
async function modelSources(init: ReplicaInit): Promise<ModelSource[]> {
  const models = init.api.handler.models!;
  const base = init.projectDir.replace(/\/?$/, "/");
  const sources: ModelSource[] = models.paths.map(({ name, path }) => {
    const file = init.modelFiles?.[path] ??
      (/^https?:\/\//.test(path) ? null : base + path);
    if (file === null) {
      throw new Error(`Model "${name}" (${path}) was not downloaded`);
    }
    return { kind: "file", name, path: file };
  });
  if (models.dir !== null) {
    const dir = base + models.dir;
    for (const name of (await denoModelFs.folders(dir)).sort()) {
      if (name.startsWith(".")) continue;
      sources.push({ kind: "versions", name, dir: `${dir}/${name}` });
    }
  }
  return sources;
}

/**
 * `handler.warmup`: `count` calls of the handler's POST (with the payload)
 * or GET through the pipeline before the replica is ready.
 *
 * @throws {Error} When a call fails, naming its status and body.
 */
async function warmup(
  api: ReplicaInit["api"],
  serve: ReturnType<typeof createHttpPipeline>,
  methods: string[],
): Promise<void> {
  const { payload, count } = api.handler.warmup!;
  const method = methods.includes("POST") ? "POST" : "GET";
  if (!methods.includes(method)) {
    throw new Error(
      "handler.warmup needs a handlePost or handleGet method to call",
    );
  }
  const url = `http://warmup${api.networking.endpoint}`;
  for (let i = 1; i <= count; i++) {
    const init: RequestInit = { method };
    if (method === "POST" && payload !== null) {
      const text = typeof payload === "string";
      init.body = text ? payload : JSON.stringify(payload);
      init.headers = {
        "content-type": text ? "text/plain" : "application/json",
      };
    }
    const res = await serve(new Request(url, init), {
      requestId: `warmup-${i}`,
    });
    if (res.status >= 400) {
      const body = (await res.text()).slice(0, 500);
      throw new Error(
        `handler.warmup call ${i} of ${count} (${method} ${api.networking.endpoint}) failed with status ${res.status}: ${body}`,
      );
    }
    await res.body?.cancel();
  }
}
