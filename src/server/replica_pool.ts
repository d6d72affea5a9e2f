/**
 * The replicas of one API: starting, scaling, admitting and picking the
 * least-loaded one for work the serving process hands out, replacing
 * crashed, stuck, over-memory or failing ones, draining on scale-down and
 * roll-outs.
 *
 * @module
 */

import type { EdgeInit } from "../edge/edge.ts";
import type {
  ApiConfig,
  LogLevel,
  Project,
} from "../config/resolved_config.ts";
import type { Logger } from "../log/logger.ts";
import type {
  FromReplica,
  ReplicaInit,
  Route,
} from "../wire/replica_messages.ts";
import { handlerEnv } from "../config/handler_env.ts";
import { RequestStats } from "../metrics/request_stats.ts";
import { Replica, type ReplicaCommand, type ReplicaExit } from "./replica.ts";
import {
  DEFAULT_REPLICA_MEMORY,
  type ListenAddress,
  memoryLimitOf,
  nextReplicaId,
} from "./replica_launch.ts";
import {
  abandonReplicaProcess,
  type ReplicaProcess,
  sameCommand,
  spawnReplicaProcess,
} from "./replica_process.ts";
import type { PrestartedReplicas } from "./replica_prestart.ts";
import type { ReplicaSocket } from "./replica_socket.ts";
import type { ConnectionLimits } from "../http/guarded_server.ts";

export type { ListenAddress };
export { DEFAULT_REPLICA_MEMORY, memoryLimitOf };

/** What the pool needs from the server. */
export interface PoolDeps {
  project: Project;
  scratchRoot: string;
  /** Where new replicas listen, or null when the main thread routes. */
  listen(): ListenAddress | null;
  /** The channel every replica process connects to. */
  socket: ReplicaSocket;
  /** How to start a replica process of `api`. */
  command(
    api: ApiConfig,
    scratchDir: string,
    listen: ListenAddress | null,
  ): ReplicaCommand;
  /** Writes log lines (already checked) from a replica. */
  log(chunk: string): void;
  routes: () => Route[];
  apiNames: () => string[];
  accessLog: boolean;
  runtimeLogLevel: LogLevel;
  control: ReplicaInit["control"];
  logger: Logger;
  /** Messages that are not lifecycle events (logs, forwards, responses, gRPC). */
  onMessage(msg: FromReplica, replica: Replica): void;
  /** A replica ended; the server fails what it held. */
  onExit(replica: Replica, exit: ReplicaExit): void;
  /** The number of listening replicas changed. */
  onListeningChange(): void;
  /** Local cap on replicas (--max-replicas-per-api). */
  maxLocalReplicas: number;
  /** Connection limits of replicas' own listeners (serve flags). */
  limits?: ConnectionLimits;
  /** `handler.models` URL → downloaded file (src/supervisor/model_cache.ts). */
  modelFiles?: Record<string, string>;
  /** The edge checks a listening replica of `api` runs (src/edge/). */
  edge?(api: ApiConfig): EdgeInit;
  /** Tracing is on: replicas record spans and send them here. */
  tracing?: boolean;
  /** A gRPC API's descriptors, for its HTTP door (src/server/grpc_door.ts). */
  descriptorSet?(api: ApiConfig): Uint8Array | undefined;
  /** Replica processes started before the pool (src/server/replica_prestart.ts). */
  prestarted?: PrestartedReplicas;
}

/** A replica whose event loop stalls this long is hung (see hangMsOf). */
const MAX_HANG_MS = 5_000;
/** How often the watchdog looks at the replicas. */
const WATCH_MS = 250;
/** A watchdog tick this late means this process itself stalled. */
const LATE_MS = 100;

/** Back-off between attempts to start a failing API. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * How long a replica may go without a heartbeat: its event loop is blocked
 * (a synchronous loop), so it cannot even time out its own requests.
 */
export function hangMsOf(api: ApiConfig): number {
  return Math.min(api.handler.requestTimeoutMs, MAX_HANG_MS) + 1_000;
}

/** Status shown by `cortex get`. */
export type ApiStatus = "live" | "updating" | "error";

/** The replica pool of one API. */
export class ReplicaPool {
  api: ApiConfig;
  readonly replicas = new Set<Replica>();
  /** Replica count the autoscaler (or a patch) asked for. */
  desired: number;
  restarts = 0;
  /** Requests answered by the main thread (no replica saw them). */
  readonly mainStats = new RequestStats();
  /** Why the API is in error (constructor failed), or null. */
  error: string | null = null;
  #deps: PoolDeps;
  #stopped = false;
  #watchdog: ReturnType<typeof setInterval>;
  #lastWatch = Date.now();
  #rollingOut = 0;
  #handedOffByEnded = 0;
  #reconnectsByEnded = 0;
  /** Consecutive start failures, for the retry back-off. */
  #failures = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(api: ApiConfig, deps: PoolDeps) {
    this.api = api;
    this.#deps = deps;
    this.desired = this.#cap(api.autoscaling.initReplicas);
    this.#watchdog = setInterval(() => this.#watch(), WATCH_MS);
    Deno.unrefTimer(this.#watchdog);
  }

  /** Admitted work of the API: what every replica holds. */
  get inFlight(): number {
    let n = 0;
    for (const r of this.replicas) n += r.load;
    return n;
  }

  /** Requests waiting for a handler slot in any replica. */
  get queued(): number {
    let n = 0;
    for (const r of this.replicas) n += r.queued;
    return n;
  }

  /** Requests handed from a busy replica to another, ended replicas included. */
  get handedOff(): number {
    let n = this.#handedOffByEnded;
    for (const r of this.replicas) n += r.handedOff;
    return n;
  }

  /** Clients asked to reconnect by busy replicas, ended replicas included. */
  get reconnects(): number {
    let n = this.#reconnectsByEnded;
    for (const r of this.replicas) n += r.reconnects;
    return n;
  }

  /**
   * A replica of this API, other than `from`, with a free handler slot: the
   * least-loaded one, admitted like {@linkcode acquire}; null when every
   * replica is busy (the sender then queues the request itself).
   */
  acquireFree(from: Replica): Replica | null {
    const slots = this.api.handler.processesPerReplica *
      this.api.handler.threadsPerProcess;
    let best: Replica | null = null;
    for (const r of this.replicas) {
      if (r === from || r.state !== "ready" || r.load >= slots) continue;
      if (best === null || r.load < best.load) best = r;
    }
    if (best !== null) best.sent++;
    return best;
  }

  /** Ready replicas x max_replica_concurrency. */
  get limit(): number {
    return this.ready.length * this.api.autoscaling.maxReplicaConcurrency;
  }

  /**
   * Admits one request or call that the serving process hands out: the
   * least-loaded ready replica, unless even that one is at
   * max_replica_concurrency (then null: 503 or UNAVAILABLE). Pair with
   * {@linkcode release}.
   */
  acquire(): Replica | null {
    const best = this.leastLoaded();
    if (
      best === null || best.load >= this.api.autoscaling.maxReplicaConcurrency
    ) {
      return null;
    }
    best.sent++;
    return best;
  }

  /** Ends what {@linkcode acquire} admitted. */
  release(replica: Replica): void {
    if (replica.sent > 0) replica.sent--;
  }

  /** Ready replicas taking new work. */
  get ready(): Replica[] {
    return [...this.replicas].filter((r) => r.state === "ready");
  }

  /** live, updating (starting, scaling or rolling out) or error. */
  get status(): ApiStatus {
    if (this.error !== null && this.ready.length === 0) return "error";
    if (this.#rollingOut > 0) return "updating";
    const up = this.ready.length;
    return up >= Math.min(this.desired, 1) && up > 0 ? "live" : "updating";
  }

  /** Starts the initial replicas; rejects with the handler's error if none starts. */
  async start(): Promise<void> {
    const started = Array.from(
      { length: this.desired },
      () => this.#spawn(this.api),
    );
    const results = await Promise.allSettled(started.map((r) => r.ready));
    const failed = results.find((r) => r.status === "rejected");
    if (results.every((r) => r.status === "rejected") && failed) {
      throw (failed as PromiseRejectedResult).reason;
    }
  }

  /** Grows or shrinks to `n` replicas (bounded by the local cap). */
  scaleTo(n: number): void {
    this.desired = this.#cap(n);
    this.#reconcile();
  }

  /**
   * Rolls out `api` (new config or code): new replicas first, then drains old
   * ones. When a new replica fails, the old ones keep serving and the pool
   * goes back to their configuration (unless another roll-out began since),
   * so `cortex get` shows what is served and a replica that replaces a
   * crashed old one starts with it, not with the configuration that failed.
   */
  async rollOut(api: ApiConfig): Promise<void> {
    this.#rollingOut++;
    try {
      const old = [...this.replicas].filter((r) => r.state !== "stopped");
      const served = this.api;
      const desired = this.desired;
      this.api = api;
      this.desired = this.#cap(
        Math.max(this.desired, api.autoscaling.minReplicas),
      );
      const fresh = Array.from(
        { length: this.desired },
        () => this.#spawn(api),
      );
      await Promise.all(fresh.map((r) => r.ready)).catch((error) => {
        for (const r of fresh) r.kill("failed", "roll-out failed");
        if (this.api === api && old.length > 0) {
          this.api = served;
          this.desired = this.#cap(desired);
          this.#reconcile();
        }
        throw error;
      });
      this.error = null;
      for (const r of old) r.drain();
    } finally {
      this.#rollingOut--;
    }
  }

  /** The ready replica with the least work, or null when none is ready. */
  leastLoaded(): Replica | null {
    let best: Replica | null = null;
    let bestLoad = Infinity;
    for (const r of this.replicas) {
      if (r.state !== "ready") continue;
      const load = r.load;
      if (load < bestLoad) {
        best = r;
        bestLoad = load;
      }
    }
    return best;
  }

  /** Drains every replica; resolves when all have ended or `graceMs` passed. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#watchdog);
    clearTimeout(this.#retry);
    const all = [...this.replicas];
    for (const r of all) r.drain();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(all.map((r) => r.exited)),
      new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
    for (const r of all) r.kill();
  }

  #cap(n: number): number {
    const { minReplicas, maxReplicas } = this.api.autoscaling;
    return Math.max(
      1,
      Math.min(
        Math.max(n, minReplicas),
        maxReplicas,
        this.#deps.maxLocalReplicas,
      ),
    );
  }

  #spawn(api: ApiConfig): Replica {
    const d = this.#deps;
    // A process started before the pool existed is adopted when it was
    // started with exactly the command computed here (same grants).
    const early = d.prestarted?.claim(api.name) ?? null;
    const replicaId = early?.replicaId ?? nextReplicaId(api.name);
    const scratchDir = `${d.scratchRoot}/${replicaId}`;
    const listen = api.handler.protobufPath === null ? d.listen() : null;
    let launch: ReplicaCommand;
    try {
      Deno.mkdirSync(scratchDir, { recursive: true });
      launch = d.command(api, scratchDir, listen);
    } catch (error) {
      if (early) abandonReplicaProcess(early.process);
      throw error;
    }
    let process: ReplicaProcess;
    if (early && sameCommand(early.process.launch, launch)) {
      process = early.process;
      d.logger.debug(
        `Replica "${replicaId}" of API "${api.name}" was started before the server loaded (prestarted)`,
        {
          extra: {
            api: api.name,
            replicaId,
            // Started before "go", from the last start's record.
            ...(early.ahead ? { startedAhead: true } : {}),
          },
        },
      );
    } else {
      if (early) {
        abandonReplicaProcess(early.process);
        d.logger.warning(
          `Replica "${replicaId}" of API "${api.name}" is started again: the command it was prestarted with is not the one the server computes now`,
          { extra: { api: api.name, replicaId } },
        );
      }
      process = spawnReplicaProcess(launch, d.socket);
    }
    const init: ReplicaInit = {
      type: "init",
      api,
      replicaId,
      projectDir: d.project.dir,
      scratchDir,
      env: handlerEnv(d.project, api, {
        CORTEX_API_NAME: api.name,
        CORTEX_REPLICA_ID: replicaId,
        CORTEX_PROJECT_DIR: d.project.dir,
        CORTEX_SCRATCH_DIR: scratchDir,
      }),
      listen,
      routes: d.routes(),
      peers: this.ready.length + 1,
      apiNames: d.apiNames(),
      logLevel: api.handler.logLevel,
      runtimeLogLevel: d.runtimeLogLevel,
      accessLog: d.accessLog,
      control: d.control,
      limits: d.limits,
      ...(listen && d.edge ? { edge: d.edge(api) } : {}),
      ...(api.handler.models && d.modelFiles
        ? { modelFiles: d.modelFiles }
        : {}),
      ...(d.tracing ? { tracing: true } : {}),
    };
    const descriptorSet = d.descriptorSet?.(api);
    if (descriptorSet) init.grpc = { descriptorSet };
    const replica = new Replica(
      init,
      process,
      (msg, r) => d.onMessage(msg, r),
      (chunk) => d.log(chunk),
    );
    this.replicas.add(replica);
    replica.ready.then(() => {
      this.#failures = 0;
      this.error = null;
      this.#tellPeers();
      d.onListeningChange();
    }, (error: Error) => {
      if (replica.state === "stopped" && this.#stopped) return;
      this.error = error.message;
      d.logger.error(
        `Replica "${replicaId}" of API "${api.name}" failed to start: ${error.message}`,
        { extra: { api: api.name, replicaId, stack: error.stack } },
      );
    });
    replica.exited.then((exit) => this.#onExit(replica, exit));
    return replica;
  }

  #onExit(replica: Replica, exit: ReplicaExit): void {
    this.replicas.delete(replica);
    this.#tellPeers();
    this.#handedOffByEnded += replica.handedOff;
    this.#reconnectsByEnded += replica.reconnects;
    this.#deps.onListeningChange();
    this.#deps.onExit(replica, exit);
    Deno.remove(`${this.#deps.scratchRoot}/${replica.id}`, { recursive: true })
      .catch(() => {});
    if (
      exit.reason === "crashed" || exit.reason === "hung" ||
      exit.reason === "memory"
    ) {
      this.restarts++;
      this.#deps.logger.error(
        `Replica "${replica.id}" of API "${this.api.name}" ${
          exit.reason === "memory" ? "went over its memory limit" : exit.reason
        }: ${exit.message}; replacing it`,
        { extra: { replicaId: replica.id, reason: exit.reason } },
      );
    }
    if (exit.reason === "failed") this.#retryLater();
    else this.#reconcile();
  }

  /** Tells each replica how many of the API's replicas are ready. */
  #tellPeers(): void {
    const ready = this.ready;
    for (const r of ready) r.send({ type: "peers", ready: ready.length });
  }

  /**
   * A replica failed to start (its constructor threw, hung or the process
   * died): try again after a back-off that doubles up to 30 s, so a broken
   * API neither spins nor stays down for good.
   */
  #retryLater(): void {
    if (this.#stopped || this.#retry !== undefined) return;
    const delay = Math.min(RETRY_MIN_MS * 2 ** this.#failures, RETRY_MAX_MS);
    this.#failures++;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#reconcile();
    }, delay);
    Deno.unrefTimer(this.#retry);
  }

  #reconcile(): void {
    if (this.#stopped || this.#rollingOut > 0) return;
    const live = [...this.replicas].filter(
      (r) => r.state === "ready" || r.state === "starting",
    );
    for (let i = live.length; i < this.desired; i++) this.#spawn(this.api);
    const extra = live.length - this.desired;
    if (extra > 0) {
      // Drain the least-loaded replicas first: they finish soonest.
      live.sort((a, b) => a.load - b.load)
        .slice(0, extra).forEach((r) => r.drain());
      this.#tellPeers();
    }
  }

  /**
   * Ends replicas that stopped making progress: no heartbeat (a blocked
   * event loop), over their memory limit, or a constructor that has not
   * returned within handler.startup_timeout. Each is killed and replaced.
   */
  #watch(): void {
    const now = Date.now();
    // This process stalled (a long synchronous task): the replicas'
    // heartbeats may wait unread on their sockets, so the stall does not
    // count as their silence; one that stays silent is still found hung.
    const late = now - this.#lastWatch - WATCH_MS;
    this.#lastWatch = now;
    if (late > LATE_MS) {
      for (const r of this.replicas) {
        r.lastSeen = Math.min(now, r.lastSeen + late);
      }
    }
    const api = this.api;
    const hangMs = hangMsOf(api);
    const memory = memoryLimitOf(api);
    for (const r of this.replicas) {
      if (r.state === "starting") {
        if (now - r.startedAt > api.handler.startupTimeoutMs) {
          r.kill(
            "failed",
            `its constructor did not finish within ${api.handler.startupTimeoutMs} ms (handler.startup_timeout)`,
          );
        }
      } else if (r.state !== "stopped" && now - r.lastSeen > hangMs) {
        r.kill(
          "hung",
          `its event loop has been blocked for ${
            Math.round((now - r.lastSeen) / 100) / 10
          } s`,
        );
      } else if (r.rss > memory) {
        r.kill(
          "memory",
          `it holds ${Math.round(r.rss / 2 ** 20)} MiB, over ${
            Math.round(memory / 2 ** 20)
          } MiB (compute.mem)`,
        );
      }
    }
  }
}
