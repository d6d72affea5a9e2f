/**
 * The replica core: what turns an API's config into a served handler, the
 * same in a replica process (src/replica/runtime.ts) and in the in-process
 * test harness (src/testing/handler_harness.ts). It gives the handler its
 * environment (`Deno.env`, `process.env`), its `console`, its chaining
 * `fetch`, the handler instance and its `ctx` (request-scoped logger,
 * metrics, models, client), the slots and admission counters, and the HTTP
 * pipeline; what it cannot do itself (write log lines, reach another API)
 * goes through a {@linkcode CoreTransport}.
 *
 * What stays in the runtime: the listener and the upgradable server, the
 * channel to the serving process (forwards, hand-offs, load reports,
 * drain), WebSocket sessions, the gRPC bridge and the process guards.
 *
 * Steps, in the runtime's order: the constructor installs the globals and
 * counters (before the replica binds its listener); `importHandler()`
 * imports the module (the replica starts serving then, handing requests on);
 * `construct()` builds the handler and awaits its start-up;
 * `startPipeline()` builds the request pipeline and runs `handler.warmup`.
 *
 * `handler.models`, `handler.warmup` and `server_side_batching` load their
 * modules when the API has them (issue 17: a replica loads only what its
 * API uses).
 *
 * @module
 */

import type { ApiConfig, LogLevel } from "../config/resolved_config.ts";
import type { CortexClient } from "../control/client.ts";
import type {
  HandlerContext,
  HandlerLogger,
} from "../handler/handler_context.ts";
import { accessLineFormatter } from "../log/access_line.ts";
import { accessRecordWriter } from "../log/access_record.ts";
import { makeConsole } from "../log/console_capture.ts";
import { Logger } from "../log/logger.ts";
import { BatchStats } from "../metrics/batch_stats.ts";
import { CustomMetrics } from "../metrics/custom_metrics.ts";
import { RequestStats } from "../metrics/request_stats.ts";
import { StreamStats } from "../metrics/stream_stats.ts";
import type { SpanRecorder } from "../trace/recorder.ts";
import { Admission, createAdmissionBuffer } from "./admission.ts";
import { BackendFallbackNotes } from "./backend_fallback.ts";
import { chainingFetch } from "./chaining.ts";
import { installEnv } from "./env_shim.ts";
import {
  allowedMethods,
  findHandlerClass,
  type HandlerInstance,
} from "./handler_loader.ts";
import {
  type AccessEntry,
  createHttpPipeline,
  type PipelineDeps,
} from "./http_pipeline.ts";
import type { ModelStore } from "./models.ts";
import {
  currentRequestId,
  currentTrace,
  currentTraceparent,
} from "./request_context.ts";
import { Slots } from "./slots.ts";

/** The optional method awaited before a replica is ready. */
const INIT = "init";

/** The method `ctx.models` loads a model with. */
const LOAD_MODEL = "loadModel";

/** The only slot of a replica's own admission counters. */
export const SLOT = 0;

/** A handler class: `new Handler(config, ctx)`. */
export type HandlerClass = new (
  config: unknown,
  ctx: unknown,
) => HandlerInstance;

/** The request pipeline of a loaded handler. */
export type Pipeline = ReturnType<typeof createHttpPipeline>;

/** A handler-facing logger that also logs errors with their stack. */
export type ScopedLogger = HandlerLogger & {
  exception(message: string, error: unknown): void;
};

/** What the core needs from the outside. */
export interface CoreTransport {
  /** Writes finished log lines: the handler's, its console's, the runtime's. */
  logs(lines: string[]): void;
  /** Sends a chained call (`http://api-<name>:8888`) to another API. */
  chain(api: string, req: Request): Promise<Response>;
  /**
   * Whoever reads `logs` renders access records (src/log/access_record.ts):
   * the serving process does. Else access lines are written whole.
   */
  accessRecords?: boolean;
}

/** Everything the core builds a handler from. */
export interface ReplicaCoreOptions {
  api: ApiConfig;
  replicaId: string;
  projectDir: string;
  scratchDir: string;
  /** The handler's environment: `Deno.env` and `process.env` show only it. */
  env: Record<string, string>;
  /** The APIs chained calls may reach (live: the caller may update it). */
  apiNames: Set<string>;
  /** handler.log_level: filters the handler's own lines. */
  logLevel: LogLevel;
  /** Filters the runtime's lines (access log, errors). */
  runtimeLogLevel: LogLevel;
  /** Writes an access line per response. */
  accessLog: boolean;
  /** `ctx.client`, or null. */
  client: CortexClient | null;
  /** `handler.models` URLs → their downloaded file. */
  modelFiles?: Record<string, string>;
  /** Records spans (requests, chained calls, model loads) when tracing is on. */
  tracer?: SpanRecorder;
  transport: CoreTransport;
  /** Called when the admission counters change (a replica reports load). */
  onLoadChange?: () => void;
  /** Rewrites console text (permission hints inside the sandbox). */
  explain?: (text: string) => string;
}

/** What the pipeline gets besides the core's own parts. */
export interface PipelineExtras {
  /** Offers a request this replica has no slot for to another replica. */
  handOff?: PipelineDeps["handOff"];
  /** A gRPC API's Connect/gRPC-Web door. */
  rpc?: PipelineDeps["rpc"];
}

/** One API's handler, its context, counters and request pipeline. */
export class ReplicaCore {
  readonly api: ApiConfig;
  /** The handler's logger (its lines, labelled with the replica). */
  readonly base: Logger;
  /** The runtime's logger (access lines' level, runtime errors). */
  readonly runtime: Logger;
  /** Writes an access line, or null when access lines are off. */
  readonly access: ((entry: AccessEntry) => void) | null;
  readonly admission: Admission;
  readonly slots: Slots;
  readonly stats: RequestStats = new RequestStats();
  readonly batchStats: BatchStats | null;
  readonly streamStats: StreamStats = new StreamStats();
  readonly metrics: CustomMetrics = new CustomMetrics();
  readonly tracer: SpanRecorder | undefined;
  /** Work (callbacks, streams) the replica waits for before it drains. */
  readonly pendingWork: Set<Promise<unknown>> = new Set();
  readonly #opts: ReplicaCoreOptions;
  readonly #restore: Array<() => void> = [];
  #class: HandlerClass | null = null;
  #handler: HandlerInstance | null = null;
  #pipeline: Pipeline | null = null;
  #models: ModelStore | null = null;
  #stopPolling: () => void = () => {};

  /** Installs the handler's env, console and fetch; builds the counters. */
  constructor(opts: ReplicaCoreOptions) {
    this.#opts = opts;
    const { api, tracer } = opts;
    this.api = api;
    this.tracer = tracer;
    this.#restore.push(installEnv(opts.env));
    const labels = {
      apiName: api.name,
      apiKind: api.kind,
      replicaId: opts.replicaId,
    };
    const write = (lines: string[]) => opts.transport.logs(lines);
    this.base = new Logger({
      level: opts.logLevel,
      labels,
      write,
      trace: currentTrace,
    });
    this.runtime = new Logger({
      level: opts.runtimeLogLevel,
      labels,
      write,
      trace: currentTrace,
    });
    const line = accessLineFormatter(labels, Deno.pid);
    const accessLine = opts.transport.accessRecords
      ? accessRecordWriter(line)
      : line;
    this.access = opts.accessLog && this.runtime.enabled("info")
      ? (entry) => write([accessLine(entry)])
      : null;
    // Cortex's max_replica_concurrency: what this replica admits, running
    // and queued.
    this.admission = new Admission(
      createAdmissionBuffer(),
      opts.onLoadChange ?? (() => {}),
    );
    this.admission.limit = api.autoscaling.maxReplicaConcurrency;
    this.slots = new Slots(
      api.handler.processesPerReplica * api.handler.threadsPerProcess,
      (delta) => this.admission.addQueued(delta, SLOT),
    );
    this.batchStats = api.handler.serverSideBatching ? new BatchStats() : null;

    // Libraries log permission denials they hit (emscripten: "failed to
    // asynchronously prepare wasm: NotCapable: ..."): with the runtime's
    // hint; and a tfjs backend that fails says that tfjs falls back, and why.
    const fallbacks = new BackendFallbackNotes();
    const explain = opts.explain ?? ((text: string) => text);
    const console = globalThis.console;
    globalThis.console = makeConsole(
      () => this.#scoped(),
      (text) => fallbacks.rewrite(explain(text)),
    );
    this.#restore.push(() => void (globalThis.console = console));
    const fetch = globalThis.fetch;
    globalThis.fetch = chainingFetch({
      apiNames: opts.apiNames,
      requestId: currentRequestId,
      traceparent: currentTraceparent,
      ...(tracer ? { tracer } : {}),
      call: async (target, req) =>
        target === api.name && this.#pipeline
          ? await this.#pipeline(req, { signal: req.signal })
          : await opts.transport.chain(target, req),
    }, fetch);
    this.#restore.push(() => void (globalThis.fetch = fetch));
  }

  /** The handler instance (after `construct()`). */
  get handler(): HandlerInstance {
    if (this.#handler === null) throw new Error("The handler is not built");
    return this.#handler;
  }

  /** The request pipeline (after `startPipeline()`). */
  get pipeline(): Pipeline {
    if (this.#pipeline === null) throw new Error("The pipeline is not built");
    return this.#pipeline;
  }

  /** Keeps the replica from draining until `work` settles. */
  readonly track = (work: Promise<unknown>): void => {
    this.pendingWork.add(work);
    // then(f, f), not finally(): a rejected `work` must not become an
    // unhandled rejection, which would end the replica.
    const forget = () => void this.pendingWork.delete(work);
    work.then(forget, forget);
  };

  /** A handler-facing logger labelled with `requestId`. */
  readonly loggerFor = (requestId: string): Logger =>
    this.base.child({ requestId });

  /** Imports the handler module and finds its class. */
  async importHandler(): Promise<HandlerClass> {
    const { api, projectDir } = this.#opts;
    const handlerUrl = new URL(
      api.handler.path,
      `file://${projectDir.replace(/\/?$/, "/")}`,
    );
    this.#class = findHandlerClass(
      await import(handlerUrl.href),
      api.handler.path,
    );
    return this.#class;
  }

  /**
   * Constructs the handler with its config and `ctx` and awaits its
   * start-up: a constructor's promise, `init()`, the listed models.
   */
  async construct(): Promise<HandlerInstance> {
    const { api, projectDir, modelFiles, tracer } = this.#opts;
    const HandlerClass = this.#class ?? await this.importHandler();
    const onError = (message: string, error: unknown) =>
      this.runtime.exception(message, error);
    // handler.models: the handler's loadModel() loads them (after init()).
    const modelsModule = api.handler.models
      ? await import("./handler_models.ts")
      : null;
    this.#models = modelsModule
      ? await modelsModule.handlerModelStore({
        api,
        projectDir,
        ...(modelFiles ? { modelFiles } : {}),
        ...(tracer ? { tracer } : {}),
        load: (path, info) => this.#loadModel(path, info),
        onError,
      })
      : null;
    let handler = new HandlerClass(
      structuredClone(api.handler.config),
      this.#context(),
    );
    this.#handler = handler;
    // Asynchronous start-up (a model to load) finishes before the replica
    // says it is ready: a constructor that returns a promise of the instance,
    // then `init()` when the instance has one. Until then `/healthz` is 503,
    // nothing is routed here, and `handler.startup_timeout` bounds it all.
    if (typeof (handler as { then?: unknown }).then === "function") {
      handler = await (handler as unknown as Promise<HandlerInstance>);
      this.#handler = handler;
    }
    if (typeof handler[INIT] === "function") {
      await (handler[INIT] as () => unknown).call(handler);
    }
    // The listed models load before the replica is ready; then changes are
    // polled, one poll at a time.
    const models = this.#models;
    if (models !== null && modelsModule !== null) {
      await models.preload();
      this.#stopPolling = modelsModule.pollModels(
        models,
        api.handler.models!.pollIntervalMs,
        onError,
      );
    }
    return handler;
  }

  /** Builds the request pipeline and runs `handler.warmup` through it. */
  async startPipeline(extras: PipelineExtras = {}): Promise<Pipeline> {
    const { api, tracer } = this.#opts;
    const handler = this.handler;
    const access = this.access;
    const batching = api.handler.serverSideBatching
      ? await import("./http_batching.ts")
      : null;
    const pipeline = createHttpPipeline({
      ...(batching ? { httpBatcher: batching.httpBatcher } : {}),
      ...(extras.rpc ? { rpc: extras.rpc } : {}),
      api,
      handler,
      admission: this.admission,
      slot: SLOT,
      slots: this.slots,
      stats: this.stats,
      ...(this.batchStats ? { batchStats: this.batchStats } : {}),
      streamStats: this.streamStats,
      loggerFor: this.loggerFor,
      ...(tracer ? { tracer } : {}),
      access: access ?? (() => {}),
      track: this.track,
      ...(extras.handOff ? { handOff: extras.handOff } : {}),
    });
    this.#pipeline = pipeline;
    if (api.handler.warmup) {
      const { warmup } = await import("./warmup.ts");
      await warmup(api, pipeline, allowedMethods(handler));
    }
    return pipeline;
  }

  /** The handler's public methods, for the replica's `ready` message. */
  methods(): string[] {
    return Object.getOwnPropertyNames(Object.getPrototypeOf(this.handler))
      .filter((name) =>
        name !== "constructor" && name !== INIT && name !== LOAD_MODEL
      );
  }

  /** Stops polling for model changes. */
  stop(): void {
    this.#stopPolling();
  }

  /** Stops, and puts back the env, console and fetch the core replaced. */
  restore(): void {
    this.stop();
    for (const undo of this.#restore.splice(0).reverse()) undo();
  }

  /** The handler's logger for the request running now, if any. */
  #scoped(): Logger {
    const requestId = currentRequestId();
    return requestId ? this.base.child({ requestId }) : this.base;
  }

  #loadModel(path: string, info: unknown): unknown {
    const handler = this.#handler;
    const load = handler?.[LOAD_MODEL];
    if (typeof load !== "function") {
      throw new Error(
        `handler.models is set but the handler class has no ${LOAD_MODEL}(path, { name, version }) method`,
      );
    }
    return (load as (p: string, i: unknown) => unknown).call(
      handler,
      path,
      info,
    );
  }

  #context(): HandlerContext {
    const { api, replicaId, projectDir, scratchDir, client } = this.#opts;
    const scoped = () => this.#scoped();
    type Extra = { extra?: Record<string, unknown> };
    const logger: ScopedLogger = {
      debug: (m: string, o?: Extra) => scoped().debug(m, o),
      info: (m: string, o?: Extra) => scoped().info(m, o),
      warning: (m: string, o?: Extra) => scoped().warning(m, o),
      error: (m: string, o?: Extra) => scoped().error(m, o),
      exception: (m: string, e: unknown, o?: Extra) =>
        scoped().exception(m, e, o),
    };
    const models = () => this.#models;
    return {
      logger,
      client,
      metrics: this.metrics,
      api: {
        name: api.name,
        kind: api.kind,
        endpoint: api.networking.endpoint,
        replicaId,
      },
      projectDir,
      scratchDir,
      models: {
        get: ((name?: string, version: string | number = "latest") => {
          const store = models();
          if (store === null) {
            return Promise.reject(
              new Error("ctx.models.get(): this API has no handler.models"),
            );
          }
          return store.get(name, version);
        }) as HandlerContext["models"]["get"],
        names: () => models()?.names() ?? [],
        versions: (name: string) => models()?.versions(name) ?? [],
      },
    };
  }
}
