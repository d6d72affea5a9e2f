/**
 * A running server for one project: the replica pools of its APIs, the
 * main-thread router (health, metrics, forwarded and chained requests), the
 * gRPC server, the autoscalers and graceful shutdown.
 *
 * @module
 */

import type { ApiConfig, LogLevel, Project } from "../config/types.ts";
import { Autoscaler } from "../autoscaler/loop.ts";
import { Logger } from "../log/logger.ts";
import { StdoutSink } from "../log/stdout_sink.ts";
import type { FromReplica, ReplicaInit, Route } from "../replica/messages.ts";
import { Forwarding } from "./forwarding.ts";
import { MainRouter } from "./main_router.ts";
import { PoolGrpcBackend } from "./grpc_backend.ts";
import type { Replica } from "./replica.ts";
import { ReplicaPool } from "./replica_pool.ts";
import { FallbackListener } from "./fallback_listener.ts";
import { LogFanout } from "../control/log_tap.ts";
import { ControlError } from "../control/client.ts";
import { apiEndpointUrl, type ControlHost } from "../control/server_target.ts";
import type { DescriptorMap } from "../supervisor/descriptors.ts";

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
  /** The control API for ctx.client, when one runs. */
  control: ReplicaInit["control"];
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
   * A replica's thread is stuck for good (the watchdog replaced the replica,
   * but the thread keeps running until this process exits).
   */
  onStuckReplica?(api: string, replicaId: string): void;
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
  readonly grpcBackend: PoolGrpcBackend;
  draining = false;
  #fallback: FallbackListener;
  #grpc: GrpcSide | null = null;
  /** Health, metrics, forwarded and chained requests on the main thread. */
  readonly router: MainRouter;
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
    this.grpcBackend = new PoolGrpcBackend((name) => this.apis.get(name)?.pool);
    this.router = new MainRouter(this);
    this.#fallback = new FallbackListener(
      (req) => this.router.route(req),
      this.logger,
    );
  }

  #write(chunk: string): void {
    this.sink.write(chunk);
    this.logTap.publish(chunk);
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
    const runtime = this.#addApi(api);
    this.#broadcastRoutes();
    await runtime.pool.start();
    runtime.autoscaler.start();
    await this.updateListening();
  }

  /** Stops routing to an API at once, then drains it (delete). */
  async removeApi(name: string): Promise<void> {
    const runtime = this.apis.get(name);
    if (!runtime) return;
    this.apis.delete(name);
    this.#broadcastRoutes();
    runtime.autoscaler.stop();
    await runtime.pool.stop(runtime.pool.api.handler.shutdownGracePeriodMs);
    await this.updateListening();
  }

  /** Reports a background failure. */
  onError(message: string, error: unknown): void {
    this.logger.exception(message, error);
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

  /** HTTP routes: endpoint → API, longest first. */
  routes(): Route[] {
    return [...this.apis.values()]
      .map(({ pool }) => pool.api)
      .filter((api) => api.handler.protobufPath === null)
      .map((api) => ({ endpoint: api.networking.endpoint, api: api.name }))
      .sort((a, b) => b.endpoint.length - a.endpoint.length);
  }

  /** Starts every API; resolves when each is ready or failed. */
  async start(): Promise<void> {
    // Reserve the port first so replicas join an address that is ours (and
    // port 0 resolves to a real port before replicas start).
    this.port = await this.#fallback.listen(this.opts.hostname, this.opts.port);
    const selected = this.project.apis.filter((a) =>
      this.opts.onlyApi === null || a.name === this.opts.onlyApi
    );
    for (const api of selected) this.#addApi(api);
    const results = await Promise.allSettled(
      [...this.apis.values()].map(async ({ pool, autoscaler }) => {
        const proto = pool.api.handler.protobufPath;
        const compileError = proto && this.opts.descriptors?.[proto]?.error;
        if (compileError) {
          pool.error = compileError;
          throw new Error(compileError);
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
      listen: { hostname: this.opts.hostname, port: this.port },
      routes: () => this.routes(),
      apiNames: () => [...this.apis.keys()],
      accessLog: this.opts.accessLog,
      runtimeLogLevel: this.opts.logLevel,
      control: this.opts.control,
      logger: this.logger,
      maxLocalReplicas: this.opts.maxReplicasPerApi,
      onMessage: (msg, replica) => this.#onReplicaMessage(msg, replica),
      onExit: (replica, exit) => {
        this.forwarding.replicaExited(replica, exit);
        this.grpcBackend.replicaExited(replica, exit);
      },
      onListeningChange: () => void this.updateListening(),
      onHung: (replica) =>
        this.opts.onStuckReplica?.(pool.api.name, replica.id),
    });
    const autoscaler = new Autoscaler({
      cfg: api.autoscaling,
      getInFlight: () => pool.admission.inFlight,
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

  #onReplicaMessage(msg: FromReplica, replica: Replica): void {
    switch (msg.type) {
      case "log":
        this.sink.write(msg.chunk);
        this.logTap.publish(msg.chunk);
        break;
      case "http.response":
        this.forwarding.resolve(msg.id, msg.res);
        break;
      case "forward.request":
        void this.router.answerForward(msg, replica);
        break;
      case "forward.cancel":
        this.router.cancelForward(replica, msg.id);
        break;
      case "stats":
        this.router.statsArrived(msg);
        break;
      case "grpc":
        this.grpcBackend.deliver(msg.msg as never);
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
    this.logger.info("Stopped");
    await this.sink.flush();
  }
}
