/**
 * A running server for one project: the replica pools of its APIs, the
 * main-thread router (health, metrics, forwarded and chained requests), the
 * gRPC server, the autoscalers and graceful shutdown.
 *
 * @module
 */

import type {
  ApiConfig,
  LogLevel,
  Project,
} from "../config/resolved_config.ts";
import { Autoscaler } from "../autoscaler/loop.ts";
import { Logger } from "../log/logger.ts";
import { StdoutSink } from "../log/stdout_sink.ts";
import type { FromReplica, Route } from "../wire/replica_messages.ts";
import { Forwarding } from "./forwarding.ts";
import { largestBodyBytes, MainRouter } from "./main_router.ts";
import { replicaFrameLimit } from "../wire/channel_limits.ts";
import { SocketRelay } from "./socket_relay.ts";
import { takesWebSockets } from "../websocket/upgrade.ts";
import { PoolGrpcBackend } from "./grpc_backend.ts";
import type { Replica } from "./replica.ts";
import { ReplicaPool } from "./replica_pool.ts";
import { ReplicaSocket } from "./replica_socket.ts";
import { replicaLaunch } from "./replica_launch.ts";
import type { PrestartedReplicas } from "./replica_prestart.ts";
import { FallbackListener } from "./fallback_listener.ts";
import { Edges } from "./edges.ts";
import { type KeyHash, parseKeysEnv } from "../edge/keys.ts";
import type { Edge } from "../edge/edge.ts";
import {
  type ConnectionLimits,
  type ConnectionStats,
  DEFAULT_LIMITS,
  newConnectionStats,
} from "../http/guarded_server.ts";
import { LogFanout } from "../control/log_tap.ts";
import { ControlError } from "../control/client.ts";
import { apiEndpointUrl, type ControlHost } from "../control/server_target.ts";
import type { DescriptorMap } from "../wire/descriptors.ts";
import type { GrpcDoor } from "./grpc_door.ts";
import type { ControlProxy } from "./control_proxy.ts";
import { type NetRules, ownPorts } from "../config/net_rules.ts";
import type { TraceConfig } from "../trace/config.ts";
import { TraceExporter } from "../trace/exporter.ts";

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  hostname: string;
  port: number;
  grpcPort: number;
  logLevel: LogLevel;
  logFormat: "json" | "pretty";
  accessLog: boolean;
  maxReplicasPerApi: number;
  /** Serve only this API (one per pod in a cluster), or all when null. */
  onlyApi: string | null;
  /** Where replicas get their scratch directories. */
  scratchRoot: string;
  /**
   * The Unix socket replica processes connect to (default: `r.sock` in the
   * scratch root; the serving process needs `unix:` net access to it), or
   * "loopback" for a TCP port on 127.0.0.1 (compiled binaries).
   */
  replicaSocket?: string;
  /**
   * First replicas started before this server was built, with the replica
   * socket they connect to (src/server/replica_prestart.ts): the pools adopt
   * those whose command is the one they would run; `start()` ends the rest.
   */
  prestarted?: PrestartedReplicas;
  /**
   * The import map and lockfile the supervisor prepared (src/supervisor/
   * modules.ts): replicas load exactly that module graph, nothing else.
   */
  modules?: {
    importMap: string;
    lock: string;
    /** Handler path → npm package folders its replicas may read. */
    packages?: Record<string, string[]>;
  };
  /** `handler.models` URL → the file the supervisor downloaded. */
  modelFiles?: Record<string, string>;
  /** Carries handlers' ctx.client calls to the control API, when one runs. */
  control: ControlProxy | null;
  /** `--allow-loopback-net`: handler.allow_net may name loopback addresses. */
  allowLoopbackNet?: boolean;
  /** The control API's port once it listens (never granted to handlers). */
  controlPort?: number;
  /** Precompiled descriptors by proto path (from the supervisor or a binary). */
  descriptors?: DescriptorMap;
  /**
   * Where gRPC runs: "in-process" (default; compiled binaries) runs grpc-js
   * here; "bridge" (`cortex serve`) leaves it to the gRPC process, which
   * connects to `grpcSocket`, so a crash of grpc-js spares HTTP.
   */
  grpc?: "in-process" | "bridge";
  /** The Unix socket of the gRPC bridge (with `grpc: "bridge"`). */
  grpcSocket?: string;
  /** Where to bind the bridge socket before renaming it to `grpcSocket`. */
  grpcSocketBind?: string;
  /**
   * Connection limits and timeouts of every HTTP listener (the main
   * thread's and each replica's; `--max-connections` is per process).
   */
  limits?: ConnectionLimits;
  /** Where spans go (`OTEL_DENO=true`), or null/absent: tracing off. */
  tracing?: TraceConfig | null;
}

/** Where gRPC runs for a server: in this process or in the gRPC process. */
export interface GrpcSide {
  /** The bound gRPC port, once known. */
  readonly port: number | null;
  /** Checks the gRPC APIs and starts serving them. */
  start(): Promise<void>;
  /** Resolves once the port is known, or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void>;
  /** Stops taking calls and waits for running ones up to `graceMs`. */
  shutdown(graceMs: number): Promise<void>;
}

/** One API as the server runs it. */
export interface ApiRuntime {
  pool: ReplicaPool;
  autoscaler: Autoscaler;
}

/** `CORTEX_METRICS_KEYS` (comma-separated), hashed; null when unset. */
function metricsKeysFromEnv(): KeyHash[] | null {
  const name = "CORTEX_METRICS_KEYS";
  if (
    Deno.permissions.querySync({ name: "env", variable: name }).state !==
      "granted"
  ) {
    return null;
  }
  const keys = parseKeysEnv(Deno.env.get(name) ?? "", name);
  return keys.length > 0 ? keys : null;
}

/** The main-thread side of a running project. */
export class Server implements ControlHost {
  project: Project;
  readonly opts: ServerOptions;
  /** Every log line, for `cortex logs` (published before the sink). */
  readonly logTap = new LogFanout();
  readonly sink: StdoutSink;
  readonly logger: Logger;
  readonly apis = new Map<string, ApiRuntime>();
  readonly forwarding = new Forwarding();
  /** WebSockets upgraded here and relayed to replicas. */
  readonly relay = new SocketRelay();
  readonly grpcBackend: PoolGrpcBackend;
  /** CORS, keys and rate limits of every API (src/edge/). */
  readonly edges: Edges;
  /** Keys /metrics requires (`CORTEX_METRICS_KEYS`), or null: open. */
  readonly metricsKeys: KeyHash[] | null = metricsKeysFromEnv();
  draining = false;
  /** Exports replicas' spans; null while tracing is off (no connection). */
  readonly traces: TraceExporter | null;
  #fallback: FallbackListener;
  #grpc: GrpcSide | null = null;
  /** The HTTP doors of gRPC APIs, by API name (src/server/grpc_door.ts). */
  readonly #doors = new Map<string, GrpcDoor>();
  #socket: ReplicaSocket | null = null;
  /** Health, metrics, forwarded and chained requests on the main thread. */
  readonly router: MainRouter;
  /** Counters of the main thread's HTTP listener. */
  readonly connections: ConnectionStats = newConnectionStats();
  /** The port HTTP is actually served on (resolved when 0 was asked). */
  port: number;

  constructor(project: Project, opts: ServerOptions) {
    this.project = project;
    this.opts = opts;
    this.port = opts.port;
    this.sink = new StdoutSink({ pretty: opts.logFormat === "pretty" });
    this.logger = new Logger({
      level: opts.logLevel,
      labels: { component: "server" },
      write: (lines) => this.#write(lines.join("\n") + "\n"),
    });
    this.edges = new Edges(() => this.project.dir, this.logger);
    this.traces = opts.tracing
      ? new TraceExporter(opts.tracing, {
        onError: (message) => this.logger.warning(message),
      })
      : null;
    this.grpcBackend = new PoolGrpcBackend(
      (name) => this.apis.get(name)?.pool,
      (name) => this.edgeOf(name),
    );
    this.router = new MainRouter(this);
    this.#fallback = new FallbackListener(
      (req, client) => this.router.route(req, client),
      this.logger,
      this.limits,
      this.connections,
      {
        wanted: () =>
          [...this.apis.values()].some(({ pool }) =>
            pool.ready.some((r) => takesWebSockets(r.methods))
          ),
        beforeShutdown: () => this.relay.idle(),
      },
    );
  }

  #write(chunk: string): void {
    this.sink.write(chunk);
    this.logTap.publish(chunk);
  }

  /** True for a request on a connection that can become a WebSocket. */
  canUpgrade(req: Request): boolean {
    return this.#fallback.canUpgrade(req);
  }

  /** The edge checks of API `name`, or null when no such API is served. */
  edgeOf(name: string): Edge | null {
    const runtime = this.apis.get(name);
    return runtime ? this.edges.of(runtime.pool.api) : null;
  }

  /** Connection limits of every HTTP listener. */
  get limits(): ConnectionLimits {
    return this.opts.limits ?? DEFAULT_LIMITS;
  }

  /** Local replica cap (`--max-replicas-per-api`). */
  get maxReplicasPerApi(): number {
    return this.opts.maxReplicasPerApi;
  }

  /** Where clients reach `api`. */
  endpointOf(api: ApiConfig): string {
    return apiEndpointUrl(api, {
      hostname: this.opts.hostname,
      port: this.port,
      grpcPort: this.grpcPort,
    });
  }

  /** The bound gRPC port (the asked one until gRPC starts). */
  get grpcPort(): number {
    return this.#grpc?.port ?? this.opts.grpcPort;
  }

  /** What handler.allow_net may name on this server (its ports as bound). */
  netRules(): NetRules {
    return {
      allowLoopback: this.opts.allowLoopbackNet ?? false,
      ownPorts: ownPorts({
        http: this.port,
        grpc: this.grpcPort,
        control: this.opts.controlPort,
      }),
    };
  }

  /** Replaces the project (a deployed directory) before new replicas start. */
  setProject(project: Project): void {
    this.project = project;
  }

  /** Adds and starts a new API (deploy). */
  async addApi(api: ApiConfig): Promise<void> {
    if (api.handler.protobufPath !== null && this.#grpc === null) {
      throw new ControlError(
        400,
        `Cannot deploy gRPC API "${api.name}": this server was started without gRPC APIs; restart it with the project`,
      );
    }
    this.edges.of(api, true); // keys that cannot load refuse the deploy
    await this.#openDoor(api);
    const runtime = this.#addApi(api);
    this.#broadcastRoutes();
    if (this.#httpApiCount() > 1) await this.#stopReplicaListeners();
    await runtime.pool.start();
    runtime.autoscaler.start();
    await this.updateListening();
  }

  /** Stops routing to an API at once, then drains it (delete). */
  async removeApi(name: string): Promise<void> {
    const runtime = this.apis.get(name);
    if (!runtime) return;
    this.apis.delete(name);
    this.#doors.delete(name);
    this.edges.forget(name);
    this.#broadcastRoutes();
    runtime.autoscaler.stop();
    await runtime.pool.stop(runtime.pool.api.handler.shutdownGracePeriodMs);
    await this.updateListening();
  }

  /** Reports a background failure. */
  onError(message: string, error: unknown): void {
    this.logger.exception(message, error);
  }

  #httpApiCount(): number {
    return [...this.apis.values()].filter(({ pool }) =>
      pool.api.handler.protobufPath === null
    ).length;
  }

  /**
   * Prepares a gRPC API's HTTP door before its replicas start: they get its
   * descriptors in their init, and its service path joins the routes.
   */
  async #openDoor(api: ApiConfig): Promise<void> {
    const path = api.handler.protobufPath;
    if (path === null) return;
    const { grpcDoor } = await import("./grpc_door.ts");
    const door = await grpcDoor(this.project.dir, path, this.opts.descriptors);
    // A service another API serves fails this API when gRPC starts
    // (src/server/grpc_apis.ts); the first API keeps the path.
    const taken = [...this.#doors].some(([name, d]) =>
      name !== api.name && d.servicePath === door.servicePath
    );
    if (!taken) this.#doors.set(api.name, door);
  }

  /** The compiled descriptors of gRPC API `name`, once its door is open. */
  descriptorSetOf(name: string): Uint8Array | undefined {
    return this.#doors.get(name)?.descriptorSet;
  }

  /**
   * Replicas listen on the HTTP port only while the server has one HTTP
   * API: a replica never receives another API's requests, whose headers and
   * bodies its handler could read. When a second HTTP API arrives, the main
   * thread takes the port first, then the replicas let go of it.
   */
  async #stopReplicaListeners(): Promise<void> {
    const listening = [...this.apis.values()].flatMap(({ pool }) =>
      [...pool.replicas].filter((r) => r.listening)
    );
    for (const r of listening) r.listening = false;
    await this.updateListening();
    for (const r of listening) r.send({ type: "unlisten" });
  }

  /** Tells every replica the current routes and API names. */
  #broadcastRoutes(): void {
    const routes = this.routes();
    const apiNames = [...this.apis.keys()];
    for (const { pool } of this.apis.values()) {
      for (const r of pool.replicas) {
        r.send({ type: "routes", routes, apiNames });
      }
    }
  }

  /**
   * HTTP routes: endpoint → API, longest first. A gRPC API's route is its
   * service path (`/<package>.<Service>`), for Connect and gRPC-Web.
   */
  routes(): Route[] {
    return [...this.apis.values()]
      .map(({ pool }) => pool.api)
      .flatMap((api) => {
        if (api.handler.protobufPath === null) {
          return [{ endpoint: api.networking.endpoint, api: api.name }];
        }
        const door = this.#doors.get(api.name);
        return door ? [{ endpoint: door.servicePath, api: api.name }] : [];
      })
      .sort((a, b) => b.endpoint.length - a.endpoint.length);
  }

  /** Starts every API; resolves when each is ready or failed. */
  async start(): Promise<void> {
    try {
      await this.#start();
    } finally {
      this.opts.prestarted?.discard();
    }
  }

  async #start(): Promise<void> {
    // Reserve the port first so replicas join an address that is ours (and
    // port 0 resolves to a real port before replicas start).
    this.port = await this.#fallback.listen(this.opts.hostname, this.opts.port);
    this.#socket = this.opts.prestarted?.socket ??
      (this.opts.replicaSocket === "loopback"
        ? ReplicaSocket.openLoopback()
        : ReplicaSocket.open(
          this.opts.replicaSocket ?? `${this.opts.scratchRoot}/r.sock`,
        ));
    // What a replica may send in one frame follows the APIs' body limits.
    this.#socket.limitFrames(() =>
      replicaFrameLimit(largestBodyBytes(this.apis))
    );
    const selected = this.project.apis.filter((a) =>
      this.opts.onlyApi === null || a.name === this.opts.onlyApi
    );
    // Keys that cannot load stop serve: an API meant to be closed never
    // runs open.
    for (const api of selected) this.edges.of(api, true);
    for (const api of selected) this.#addApi(api);
    // Every door before any replica starts: each replica's routes name the
    // gRPC APIs' service paths.
    const doorErrors = new Map<string, unknown>();
    for (const api of selected) {
      await this.#openDoor(api).catch((e) => doorErrors.set(api.name, e));
    }
    const results = await Promise.allSettled(
      [...this.apis.values()].map(async ({ pool, autoscaler }) => {
        const proto = pool.api.handler.protobufPath;
        const compileError = proto && this.opts.descriptors?.[proto]?.error;
        if (compileError) {
          pool.error = compileError;
          throw new Error(compileError);
        }
        if (doorErrors.has(pool.api.name)) {
          const error = doorErrors.get(pool.api.name);
          pool.error = (error as Error).message;
          throw error;
        }
        await pool.start();
        autoscaler.start();
      }),
    );
    results.forEach((r, i) => {
      if (r.status === "rejected") {
        const api = selected[i]!;
        this.logger.exception(`API "${api.name}" failed to start`, r.reason, {
          extra: { api: api.name },
        });
      }
    });
    if (selected.some((a) => a.handler.protobufPath !== null)) {
      this.#grpc = await this.#grpcSide();
      await this.#grpc.start();
    }
    await this.updateListening();
  }

  /** Loaded on demand: HTTP-only projects never pay for grpc-js. */
  async #grpcSide(): Promise<GrpcSide> {
    if (this.opts.grpc === "bridge") {
      const { GrpcBridgeFrontend } = await import("./grpc_bridge_server.ts");
      return new GrpcBridgeFrontend(
        this,
        this.opts.grpcSocket!,
        this.opts.grpcSocketBind,
      );
    }
    const { GrpcFrontend } = await import("./grpc_frontend.ts");
    return new GrpcFrontend(this);
  }

  /** Waits (up to `timeoutMs`) until the gRPC port is known. */
  async grpcReady(timeoutMs: number): Promise<void> {
    await this.#grpc?.ready(timeoutMs);
  }

  /** True when no API could start. */
  get failed(): boolean {
    return [...this.apis.values()].every(({ pool }) => pool.ready.length === 0);
  }

  #addApi(api: ApiConfig): ApiRuntime {
    // deno-lint-ignore no-this-alias
    const server = this;
    const pool = new ReplicaPool(api, {
      get project() {
        return server.project;
      },
      scratchRoot: this.opts.scratchRoot,
      listen: () =>
        this.#httpApiCount() === 1
          ? { hostname: this.opts.hostname, port: this.port }
          : null,
      socket: this.#socket!,
      modelFiles: this.opts.modelFiles,
      tracing: this.traces !== null,
      command: (api, scratchDir, listen) =>
        replicaLaunch(
          {
            project: this.project,
            rules: this.netRules(),
            socket: this.#socket!.address,
            modules: this.opts.modules,
            modelFiles: this.opts.modelFiles,
          },
          api,
          scratchDir,
          listen,
        ),
      prestarted: this.opts.prestarted,
      log: (chunk) => this.#write(chunk),
      routes: () => this.routes(),
      apiNames: () => [...this.apis.keys()],
      accessLog: this.opts.accessLog,
      runtimeLogLevel: this.opts.logLevel,
      control: this.opts.control !== null,
      logger: this.logger,
      maxLocalReplicas: this.opts.maxReplicasPerApi,
      limits: this.limits,
      edge: (api) => this.edges.initOf(api),
      descriptorSet: (api) => this.#doors.get(api.name)?.descriptorSet,
      onMessage: (msg, replica) =>
        this.#onReplicaMessage(msg, replica, pool.api.name),
      onExit: (replica, exit) => {
        this.opts.control?.forget(replica);
        this.forwarding.replicaExited(replica, exit);
        this.router.replicaExited(replica);
        this.relay.replicaExited(replica);
        this.grpcBackend.replicaExited(replica, exit);
      },
      onListeningChange: () => void this.updateListening(),
    });
    const autoscaler = new Autoscaler({
      cfg: api.autoscaling,
      getInFlight: () => pool.inFlight,
      getReplicas: () => pool.desired,
      setReplicas: (n, reason) => {
        this.logger.info(
          `Scaling API "${pool.api.name}" from ${pool.desired} to ${n} replicas`,
          {
            extra: { api: pool.api.name, from: pool.desired, to: n, reason },
          },
        );
        pool.scaleTo(n);
      },
      maxReplicas: this.opts.maxReplicasPerApi,
      onCapped: (wanted, cap, reason) =>
        this.logger.warning(
          `API "${pool.api.name}" wants ${wanted} replicas but runs at most ${cap} on this machine (--max-replicas-per-api)`,
          { extra: { api: pool.api.name, wanted, cap, reason } },
        ),
      onError: (error) => this.logger.exception("Autoscaler failed", error),
    });
    const runtime = { pool, autoscaler };
    this.apis.set(api.name, runtime);
    return runtime;
  }

  /**
   * Keeps the main-thread listener only while no replica listens. Resolves
   * once the change is done: a closing reusePort socket can still be handed
   * a connection, which then gets a reset, so "ready" waits for it.
   */
  async updateListening(): Promise<void> {
    const listening = [...this.apis.values()].some(({ pool }) =>
      pool.ready.some((r) => r.listening)
    );
    if (listening) await this.#fallback.close();
    else if (!this.draining) {
      await this.#fallback.listen(this.opts.hostname, this.port).catch((
        error,
      ) => this.logger.exception("Cannot listen", error));
    }
  }

  #onReplicaMessage(msg: FromReplica, replica: Replica, api: string): void {
    switch (msg.type) {
      case "http.response":
        this.forwarding.resolve(msg.id, msg.res, replica, msg.streaming);
        break;
      case "http.chunk":
        this.forwarding.chunk(msg.id, msg.chunk, replica);
        break;
      case "ws.send":
        this.relay.send(msg.id, msg.data, replica);
        break;
      case "ws.close":
        this.relay.close(msg.id, replica, msg.code, msg.reason);
        break;
      case "http.end":
        this.forwarding.end(msg.id, replica, msg.error);
        break;
      case "forward.request":
        void this.router.answerForward(msg, replica);
        break;
      case "forward.credit":
        this.router.creditForward(replica, msg.id, msg.n);
        break;
      case "forward.cancel":
        this.router.cancelForward(replica, msg.id);
        break;
      case "stats":
        this.router.statsArrived(msg, replica);
        break;
      case "grpc":
        this.grpcBackend.deliver(msg.msg, replica);
        break;
      case "edge.take":
        replica.send({
          type: "edge.taken",
          id: msg.id,
          wait: this.edges.take(api, msg.bucket),
        });
        break;
      case "trace.spans":
        // Labelled with the sender: a replica adds spans to its own API only.
        this.traces?.add(api, msg.spans, replica.id);
        break;
      case "control.request":
      case "control.cancel":
        this.opts.control?.onMessage(msg, replica, {
          api,
          send: (m) => replica.send(m),
        });
        break;
    }
  }

  /**
   * Graceful shutdown: health turns 503, listeners close, in-flight requests
   * and callbacks finish (up to `graceMs`), then everything stops.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.logger.info("Shutting down: draining in-flight requests", {
      extra: { graceMs },
    });
    for (const { autoscaler } of this.apis.values()) autoscaler.stop();
    await Promise.all([
      this.#grpc?.shutdown(graceMs),
      ...[...this.apis.values()].map(({ pool }) => pool.stop(graceMs)),
    ]);
    await this.#fallback.close();
    this.#socket?.close();
    await this.traces?.flush();
    this.logger.info("Stopped");
    await this.sink.flush();
  }
}
