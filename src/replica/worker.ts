/**
 * A replica: one sandboxed Worker running one handler instance. It serves its
 * API's HTTP requests on its own `Deno.serve` (all replicas share the port
 * with `reusePort`, so most requests never cross a thread), and takes
 * forwarded HTTP requests, chained calls and gRPC calls from the main thread.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { LineBuffer } from "../log/line_buffer.ts";
import { Logger } from "../log/logger.ts";
import { accessLineFormatter } from "../log/access_line.ts";
import { makeConsole } from "../log/console_capture.ts";
import { RequestStats } from "../metrics/request_stats.ts";
import { CustomMetrics } from "../metrics/custom_metrics.ts";
import { errorResponse } from "../http/response.ts";
import { normalizedRequest } from "../http/request_path.ts";
import { Admission } from "./admission.ts";
import { chainingFetch } from "./chaining.ts";
import { installEnv } from "./env_shim.ts";
import { installProcessGuards } from "./process_guards.ts";
import { findHandlerClass, type HandlerInstance } from "./handler_loader.ts";
import { createHttpPipeline, pathOf, requestIdOf } from "./http_pipeline.ts";
import type { FromReplica, ReplicaInit, ToReplica } from "./messages.ts";
import {
  fromWireRequest,
  fromWireResponse,
  toWireRequest,
  toWireResponse,
} from "./messages.ts";
import { installPermissionHints } from "./permission_hints.ts";
import { currentRequestId } from "./request_context.ts";
import { Slots } from "./slots.ts";
import { ReplicaGrpc } from "./replica_grpc.ts";
import { createControlClient } from "../control/client.ts";
// Loaded up front so handlers can import "cortex" (HttpError, GrpcError)
// without read access to the runtime's files.
import "../../mod.ts";

function post(msg: FromReplica, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

/** Matches a path to the API serving it (exact endpoint or below it). */
function routeOf(init: ReplicaInit, path: string): string | null {
  for (const { endpoint, api } of init.routes) {
    if (
      path === endpoint || endpoint === "/" ||
      path.startsWith(endpoint + "/")
    ) return api;
  }
  return null;
}

async function start(init: ReplicaInit): Promise<void> {
  const { api } = init;
  installEnv(init.env);
  installProcessGuards(); // before the handler loads: src/replica/process_guards.ts
  // Batches cross as strings: measured cheaper to post than encoded bytes.
  const logs = new LineBuffer((chunk) => post({ type: "log", chunk }), {
    maxBytes: 256 * 1024,
    delayMs: 10,
  });
  const base = new Logger({
    level: init.logLevel,
    labels: { apiName: api.name, apiKind: api.kind, replicaId: init.replicaId },
    write: (lines) => logs.push(lines),
  });
  const runtime = new Logger({
    level: init.runtimeLogLevel,
    labels: { apiName: api.name, apiKind: api.kind, replicaId: init.replicaId },
    write: (lines) => logs.push(lines),
  });
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
  globalThis.console = makeConsole(scoped);

  const admission = new Admission(init.admission);
  const slots = new Slots(
    api.handler.processesPerReplica * api.handler.threadsPerProcess,
    (delta) => admission.addQueued(delta, init.slot),
  );
  const stats = new RequestStats();
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
    { resolve: (r: Response) => void; reject: (e: Error) => void }
  >();
  async function forward(api: string | null, req: Request): Promise<Response> {
    const id = nextForwardId++;
    const wire = await toWireRequest(req);
    const { promise, resolve, reject } = Promise.withResolvers<Response>();
    forwards.set(id, { resolve, reject });
    const onAbort = () => {
      post({ type: "forward.cancel", id });
      forwards.delete(id);
      reject(req.signal.reason ?? new DOMException("Aborted", "AbortError"));
    };
    req.signal.addEventListener("abort", onAbort, { once: true });
    post({ type: "forward.request", id, api, req: wire });
    return await promise.finally(() =>
      req.signal.removeEventListener("abort", onAbort)
    );
  }

  installPermissionHints();
  let pipeline: ReturnType<typeof createHttpPipeline> | null = null;
  const apiNames = new Set(init.apiNames);
  globalThis.fetch = chainingFetch({
    apiNames,
    requestId: currentRequestId,
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
  const ctx = {
    logger: handlerLogger,
    client: init.control ? createControlClient(init.control) : null,
    metrics,
    api: {
      name: api.name,
      kind: api.kind,
      endpoint: api.networking.endpoint,
      replicaId: init.replicaId,
    },
    projectDir: init.projectDir,
    scratchDir: init.scratchDir,
  };
  const handler: HandlerInstance = new HandlerClass(
    structuredClone(api.handler.config),
    ctx,
  );

  pipeline = createHttpPipeline({
    api,
    handler,
    admission,
    slot: init.slot,
    slots,
    stats,
    loggerFor: (requestId) => base.child({ requestId }),
    access: init.accessLog && runtime.enabled("info")
      ? (entry) => logs.push([accessLine(entry)])
      : () => {},
    track,
  });
  const serveOwn = pipeline;

  const grpc = api.handler.protobufPath
    ? new ReplicaGrpc({ handler, post, logger: base, slots, track })
    : null;

  let server: Deno.HttpServer | null = null;
  if (init.listen) {
    const listening = Promise.withResolvers<void>();
    server = Deno.serve({
      hostname: init.listen.hostname,
      port: init.listen.port,
      reusePort: true,
      onListen: () => listening.resolve(),
      onError: (error) => {
        base.exception("Cannot serve request", error);
        return errorResponse(500, "Internal server error");
      },
    }, (raw) => {
      const req = normalizedRequest(raw); // one path normalization, every listener
      const path = pathOf(req.url);
      const target = routeOf(init, path);
      if (target === api.name) {
        const requestId = requestIdOf(req);
        return serveOwn(req, { requestId });
      }
      if (target !== null || path === "/healthz" || path === "/metrics") {
        return forward(null, req);
      }
      return errorResponse(404, `No API is served at "${path}"`, {}, {
        "x-request-id": requestIdOf(req),
      });
    });
    await listening.promise;
  }

  // Requests the main thread routes to this replica.
  const incoming = new Map<number, AbortController>();
  async function serveForwarded(
    id: number,
    msg: Extract<ToReplica, { type: "http.request" }>,
  ) {
    const abort = new AbortController();
    incoming.set(id, abort);
    const req = fromWireRequest(msg.req, abort.signal);
    const requestId = requestIdOf(req);
    try {
      const res = await serveOwn(req, { admitted: msg.admitted, requestId });
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

  const heartbeat = setInterval(() => admission.beat(init.slot), 500);
  admission.beat(init.slot);

  async function drain(): Promise<void> {
    await server?.shutdown();
    // Wait for everything admitted here, then for callbacks.
    while (admission.load(init.slot) > 0 || pendingWork.size > 0) {
      await Promise.race([
        Promise.allSettled([...pendingWork]),
        new Promise((r) => setTimeout(r, 50)),
      ]);
    }
    clearInterval(heartbeat);
    logs.flushNow();
    post({ type: "drained" });
  }

  self.onmessage = (event: MessageEvent<ToReplica>) => {
    const msg = event.data;
    switch (msg.type) {
      case "http.request":
        void serveForwarded(msg.id, msg);
        break;
      case "http.cancel":
        incoming.get(msg.id)?.abort();
        break;
      case "forward.response": {
        const waiter = forwards.get(msg.id);
        forwards.delete(msg.id);
        if (!waiter) break;
        if (msg.res) waiter.resolve(fromWireResponse(msg.res));
        else waiter.reject(new TypeError(msg.error ?? "Request failed"));
        break;
      }
      case "stats.pull":
        post({
          type: "stats",
          id: msg.id,
          stats: stats.snapshot(),
          custom: metrics.snapshot(),
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
      case "grpc":
        grpc?.onMessage(msg.msg);
        break;
    }
  };
  logs.flushNow();
  post({
    type: "ready",
    methods: Object.getOwnPropertyNames(Object.getPrototypeOf(handler))
      .filter((name) => name !== "constructor"),
    listening: server !== null,
  });
}

self.onmessage = (event: MessageEvent<ToReplica>) => {
  if (event.data.type !== "init") return;
  start(event.data).catch((error: Error) => {
    post({
      type: "failed",
      message: String(error?.message ?? error),
      stack: String(error?.stack ?? error),
    });
  });
};
