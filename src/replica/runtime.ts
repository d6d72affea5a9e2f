/**
 * A replica's runtime: one sandboxed process running one handler instance.
 * When the server has a single HTTP API it serves that API's requests on its
 * own `Deno.serve` (all replicas share the port with `reusePort`, so most
 * requests never cross a process); it takes forwarded HTTP requests, chained
 * calls and gRPC calls from the serving process over its private channel.
 *
 * The handler, its `ctx`, globals, counters and request pipeline come from
 * the replica core (src/replica/replica_core.ts), shared with the in-process
 * test harness; this module adds what only a process has: the listener, the
 * channel (forwards, hand-offs, load reports, drain), WebSocket sessions, edge
 * checks and the gRPC bridge.
 *
 * What an API does not use is not loaded (issue 17: each module costs a
 * replica start-up time and memory): WebSocket sessions (only for a handler
 * with `handleWebSocket`), tracing spans, edge checks, `ctx.client` and the
 * gRPC bridge are imported when the API's config or class turns them on
 * (`tests/start_imports_test.ts` pins the static graph).
 *
 * Everything the runtime needs from the outside (the channel, the listener,
 * `Deno.memoryUsage`) is captured before the handler's module loads.
 *
 * @module
 */

import { LineBuffer } from "../log/line_buffer.ts";
import { errorResponse, isStreamedResponse } from "../http/response.ts";
import {
  bytesStream,
  ForwardedStream,
  ReceivedStreams,
} from "../wire/stream_forward.ts";
import { forwardBodyLimit, INLINE_BODY_BYTES } from "../wire/channel_limits.ts";
import { withoutBody } from "../http/body_guard.ts";
import {
  askToReconnect,
  DEFAULT_LIMITS,
  type GuardedServer,
  newConnectionStats,
  serveGuarded,
} from "../http/guarded_server.ts";
import { unreadableBody, unsupportedMethod } from "../http/refusals.ts";
import { normalizedRequest, routeFor } from "../http/request_path.ts";
import { installProcessGuards } from "./process_guards.ts";
import { allowedMethods, findWebSocketMethod } from "./handler_loader.ts";
import type { WebSocketSessions } from "./websocket_sessions.ts";
import type { RelayedTransport } from "../websocket/relayed_transport.ts";
import { pathOf, requestIdOf, traceOf } from "./http_pipeline.ts";
import type {
  FromReplica,
  ReplicaInit,
  ToReplica,
} from "../wire/replica_messages.ts";
import {
  BodyTooLarge,
  fromWireRequest,
  fromWireResponse,
  toWireRequest,
  toWireResponse,
  type WireRequest,
} from "../wire/replica_messages.ts";
import {
  explainPermissionText,
  installPermissionHints,
} from "../errors/permission_hints.ts";
import { ReconnectPolicy } from "./reconnect_policy.ts";
import { ReplicaCore, SLOT } from "./replica_core.ts";
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

/** How soon a change of load is reported. */
const REPORT_DELAY_MS = 5;

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
  const logs = new LineBuffer((chunk) => channel.postLog(chunk), {
    maxBytes: 256 * 1024,
    delayMs: 10,
  });
  // Tracing on: spans go to the serving process, which exports them.
  const tracer = init.tracing
    ? new (await import("../trace/recorder.ts")).SpanRecorder((spans) =>
      post({ type: "trace.spans", spans })
    )
    : undefined;
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
  const apiNames = new Set(init.apiNames);
  const control = init.control
    ? new (await import("./control_client.ts")).ProxiedControl(post)
    : null;
  // The handler's env, console (permission hints, tfjs fallback notes) and
  // chaining fetch, its loggers and counters: src/replica/replica_core.ts.
  // The serving process admits what it sends here the same way as this
  // replica does.
  const core = new ReplicaCore({
    api,
    replicaId: init.replicaId,
    projectDir: init.projectDir,
    scratchDir: init.scratchDir,
    env: init.env,
    apiNames,
    logLevel: init.logLevel,
    runtimeLogLevel: init.runtimeLogLevel,
    accessLog: init.accessLog,
    client: control?.client ?? null,
    ...(init.modelFiles ? { modelFiles: init.modelFiles } : {}),
    ...(tracer ? { tracer } : {}),
    transport: {
      logs: (lines) => logs.push(lines),
      // Bounded, so the message fits the serving process's frame limit
      // (the callee's own limit is checked there: 413).
      chain: (target, req) =>
        forward(target, req, forwardBodyLimit(api.handler.maxBodyBytes)),
      // The serving process renders them (src/server/replica.ts).
      accessRecords: true,
    },
    onLoadChange: reportSoon,
    explain: explainPermissionText,
  });
  installProcessGuards(); // before the handler loads: src/replica/process_guards.ts
  const { base, runtime, access, admission, slots, stats, batchStats } = core;
  const { streamStats, metrics, pendingWork, track, loggerFor } = core;

  // Requests this replica sent to the main thread (other APIs, healthz, chains).
  let nextForwardId = 1;
  // Streamed answers to this replica's forwards (chained calls, hand-offs).
  const received = new ReceivedStreams(post);
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
  // The client's address is read only when a request needs it (edge checks,
  // handing on): Deno builds `remoteAddr` on each read (~0.5 µs a request).
  let route: (
    req: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ) => Response | Promise<Response> = (req, info) =>
    handOn(req, info.remoteAddr.hostname);
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

  // Answers to this replica's own calls are delivered from here on, while the
  // handler loads: requests on the listener are handed on until it is
  // constructed, and its constructor or init() may chain to other APIs or use
  // ctx.client. Every other message waits until the replica is ready.
  let serveMessage: ((msg: ToReplica) => void) | null = null;
  const beforeReady: ToReplica[] = [];
  channel.onMessage((msg) => {
    switch (msg.type) {
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
      case "forward.chunk":
        received.chunk(msg.id, msg.chunk);
        break;
      case "forward.end":
        received.end(msg.id, msg.error);
        break;
      case "control.response":
      case "control.chunk":
        control?.onMessage(msg);
        break;
      default:
        if (serveMessage) serveMessage(msg);
        else beforeReady.push(msg);
    }
  });

  installPermissionHints();
  const HandlerClass = await core.importHandler();
  // WebSocket sessions (and the server that can upgrade) load only for a
  // handler class with handleWebSocket.
  const ws = findWebSocketMethod(HandlerClass.prototype) !== null
    ? await loadWebSocketParts()
    : null;
  // Serving starts once the module is imported (its constructor and init()
  // run later, while requests are handed on): a handler class with
  // handleWebSocket gets the listener-based server, which can upgrade.
  if (listener !== null) {
    server = ws !== null
      ? ws.serveUpgradable({
        listener,
        stats: connections,
        onError: onServeError,
        beforeShutdown: () => sockets?.idle() ?? Promise.resolve(),
      }, (raw, info) => {
        upgradable.add(raw);
        return route(normalizedRequest(raw), info);
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
        (raw, info) => route(normalizedRequest(raw), info),
      );
  }
  const handler = await core.construct();

  // replica_grpc.ts loads the protobuf runtime, an npm package: the first
  // one a process loads costs ~20 ms of its start, so only gRPC APIs do.
  const grpc = api.handler.protobufPath
    ? new (await import("./replica_grpc.ts")).ReplicaGrpc({
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
  const pipeline = await core.startPipeline({
    ...(door ? { rpc: (req, id) => door.serve(req, id) } : {}),
    handOff: (req, requestId) => {
      reconnect.overCapacity(performance.now());
      return peers > 1 ? handOff(req, requestId) : null;
    },
  });
  // handleWebSocket: upgrades on this replica's own listener.
  const socketMethod = ws === null ? null : findWebSocketMethod(handler);
  sockets = ws !== null && socketMethod
    ? new ws.WebSocketSessions({
      api,
      method: socketMethod,
      admission,
      slot: SLOT,
      loggerFor,
      access: access ?? (() => {}),
      upgrade: upgradeWebSocket,
      canUpgrade: (req) => upgradable.has(req),
    })
    : null;
  const serveOwn = (
    req: Request,
    opts: Parameters<typeof pipeline>[1] = {},
  ): Response | Promise<Response> =>
    sockets !== null && ws!.isWebSocketUpgrade(req)
      ? sockets.open(req, opts.requestId ?? requestIdOf(req))
      : pipeline(req, opts);

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
  // The edge checks load only for an API with CORS, keys or rate limits;
  // node:crypto (key hashing) only for an API with keys.
  const match = init.edge?.keys
    ? (await import("../edge/keys.ts")).matchKey
    : null;
  const edging = init.edge ? await loadEdgeParts() : null;
  const edge = init.edge && edging
    ? new edging.Edge(api.name, init.edge, (bucket) => {
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
    const { nowMs, refusedSpan, parentOf } = edging!;
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
        if (access !== null) {
          access({
            method: req.method,
            path: pathOf(req.url),
            status: refused.status,
            latencyMs: Math.round(latency * 100) / 100,
            requestId,
            ...traceOf(req),
            bytesIn: Number(req.headers.get("content-length") ?? 0),
            bytesOut: Number(refused.headers.get("content-length") ?? 0),
          });
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

  route = (req, info) => {
    const path = pathOf(req.url);
    const target = routeFor(init.routes, path)?.api ?? null;
    if (target === api.name) {
      const requestId = requestIdOf(req);
      if (edge?.needed(req)) {
        return serveChecked(req, info.remoteAddr.hostname, requestId);
      }
      const res = serveOwn(req, { requestId });
      const done = (r: Response) => r.status === 101 ? r : rebalance(r);
      if (res instanceof Response) return done(res);
      // Alone, there is nowhere to rebalance to: no promise hop per request.
      return peers > 1 ? res.then(done) : res;
    }
    // Another API's request only while a newly deployed API takes over the
    // port: checked by the serving process's router.
    if (target !== null || path === "/healthz" || path === "/metrics") {
      return handOn(req, info.remoteAddr.hostname);
    }
    return errorResponse(404, `No API is served at "${path}"`, {}, {
      "x-request-id": requestIdOf(req),
    });
  };

  // Requests the main thread routes to this replica.
  const incoming = new Map<number, AbortController>();
  const streams = new Map<number, ForwardedStream>();
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
      const res = await pipeline(req, {
        admitted: msg.admitted,
        requestId,
      });
      if (isStreamedResponse(res)) {
        const headers = [...res.headers];
        return await streamAnswer(
          id,
          headers,
          res.status,
          res.body!,
          abort.signal,
        );
      }
      const wire = await toWireResponse(res);
      // A large body is streamed too: the serving process takes no more
      // than INLINE_BODY_BYTES inside a message (src/wire/channel_limits.ts).
      if (wire.body !== null && wire.body.byteLength > INLINE_BODY_BYTES) {
        const body = bytesStream(wire.body);
        // Its length is known: the client still gets a Content-Length.
        if (!res.headers.has("content-length")) {
          wire.headers.push(["content-length", String(wire.body.byteLength)]);
        }
        return await streamAnswer(
          id,
          wire.headers,
          res.status,
          body,
          abort.signal,
        );
      }
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

  /**
   * Sends routed request `id`'s answer in chunks as the serving process
   * grants credits (`http.credit`): a streamed result, or a large body.
   */
  async function streamAnswer(
    id: number,
    headers: [string, string][],
    status: number,
    body: ReadableStream<Uint8Array>,
    signal: AbortSignal,
  ): Promise<void> {
    const head = { status, headers, body: null };
    post({ type: "http.response", id, res: head, streaming: true });
    const stream = new ForwardedStream(body, {
      chunk: (chunk) => post({ type: "http.chunk", id, chunk }),
      end: (error) =>
        post(
          error ? { type: "http.end", id, error } : { type: "http.end", id },
        ),
    }, signal);
    streams.set(id, stream);
    return await stream.pump().finally(() => streams.delete(id));
  }

  // WebSockets the serving process upgraded and relays to this replica.
  const relayed = new Map<number, RelayedTransport>();
  function openRelayed(msg: Extract<ToReplica, { type: "ws.open" }>): void {
    const { id } = msg;
    if (sockets === null) {
      post({ type: "ws.close", id, code: 1011, reason: "No handleWebSocket" });
      return;
    }
    const transport = new ws!.RelayedTransport({
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
        pipeline.endStreams();
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
    core.stop();
    logs.flushNow();
    tracer?.flush();
    post({ type: "drained" });
  }

  serveMessage = (msg) => {
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
      case "http.cancel":
        incoming.get(msg.id)?.abort();
        break;
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
    }
  };
  for (const msg of beforeReady.splice(0)) serveMessage(msg);
  report();
  logs.flushNow();
  post({
    type: "ready",
    methods: core.methods(),
    listening: server !== null,
  });
}

/** What a handler with `handleWebSocket` needs: loaded for it only. */
async function loadWebSocketParts() {
  const [sessions, upgrade, upgradable, relayed] = await Promise.all([
    import("./websocket_sessions.ts"),
    import("../websocket/upgrade.ts"),
    import("../http/upgradable_server.ts"),
    import("../websocket/relayed_transport.ts"),
  ]);
  return {
    WebSocketSessions: sessions.WebSocketSessions,
    isWebSocketUpgrade: upgrade.isWebSocketUpgrade,
    serveUpgradable: upgradable.serveUpgradable,
    RelayedTransport: relayed.RelayedTransport,
  };
}

/** The edge checks and their refused spans: loaded for an API with them. */
async function loadEdgeParts() {
  const [edge, span, trace] = await Promise.all([
    import("../edge/edge.ts"),
    import("../trace/span.ts"),
    import("../edge/trace.ts"),
  ]);
  return {
    Edge: edge.Edge,
    nowMs: span.nowMs,
    refusedSpan: span.refusedSpan,
    parentOf: trace.parentOf,
  };
}

/** The net permission descriptor host of a listening address. */
function listenHost(listen: { hostname: string; port: number }): string {
  const host = listen.hostname.includes(":")
    ? `[${listen.hostname}]`
    : listen.hostname;
  return `${host}:${listen.port}`;
}
