/**
 * The replicas of one API: starting, scaling, picking the least-loaded one,
 * replacing crashed or stuck ones, draining on scale-down and roll-outs.
 *
 * @module
 */

import type { ApiConfig, LogLevel, Project } from "../config/types.ts";
import type { NetRules } from "../config/net_rules.ts";
import type { Logger } from "../log/logger.ts";
import {
  Admission,
  createAdmissionBuffer,
  MAX_SLOTS,
} from "../replica/admission.ts";
import type { FromReplica, ReplicaInit, Route } from "../replica/messages.ts";
import { handlerEnv, workerPermissions } from "./permissions.ts";
import { RequestStats } from "../metrics/request_stats.ts";
import { Replica, type ReplicaExit } from "./replica.ts";

/** What the pool needs from the server. */
export interface PoolDeps {
  project: Project;
  scratchRoot: string;
  listen: { hostname: string; port: number } | null;
  routes: () => Route[];
  apiNames: () => string[];
  accessLog: boolean;
  runtimeLogLevel: LogLevel;
  control: ReplicaInit["control"];
  /** The server's allow_net rules now (its ports are known once it listens). */
  netRules(): NetRules;
  logger: Logger;
  /** Messages that are not lifecycle events (logs, forwards, responses, gRPC). */
  onMessage(msg: FromReplica, replica: Replica): void;
  /** A replica ended; the server fails what it held. */
  onExit(replica: Replica, exit: ReplicaExit): void;
  /** The number of listening replicas changed. */
  onListeningChange(): void;
  /**
   * The watchdog gave up on a replica whose thread is stuck: it is replaced,
   * but Deno cannot stop such a thread (denoland/deno#35657).
   */
  onHung?(replica: Replica): void;
  /** Local cap on replicas (--max-replicas-per-api). */
  maxLocalReplicas: number;
}

/** Status shown by `cortex get`. */
export type ApiStatus = "live" | "updating" | "error";

let replicaCounter = 0;

/** The replica pool of one API. */
export class ReplicaPool {
  api: ApiConfig;
  readonly admission: Admission;
  readonly admissionBuffer: SharedArrayBuffer;
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
  #beats = new Map<Replica, { beat: number; since: number }>();
  #watchdog: ReturnType<typeof setInterval>;
  #rollingOut = 0;

  constructor(api: ApiConfig, deps: PoolDeps) {
    this.api = api;
    this.#deps = deps;
    this.admissionBuffer = createAdmissionBuffer();
    this.admission = new Admission(this.admissionBuffer);
    this.desired = this.#cap(api.autoscaling.initReplicas);
    this.#watchdog = setInterval(() => this.#checkHeartbeats(), 1000);
    Deno.unrefTimer(this.#watchdog);
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

  /** Rolls out `api` (new config or code): new replicas first, then drains old ones. */
  async rollOut(api: ApiConfig): Promise<void> {
    this.#rollingOut++;
    try {
      const old = [...this.replicas].filter((r) => r.state !== "stopped");
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
        throw error;
      });
      this.error = null;
      for (const r of old) r.drain();
      this.#updateLimit();
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
      const load = this.admission.load(r.slot);
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

  #freeSlot(): number {
    const used = new Set([...this.replicas].map((r) => r.slot));
    for (let i = 0; i < MAX_SLOTS; i++) if (!used.has(i)) return i;
    throw new RangeError(
      `Cannot start replica of API "${this.api.name}": all ${MAX_SLOTS} slots in use`,
    );
  }

  #spawn(api: ApiConfig): Replica {
    const d = this.#deps;
    const slot = this.#freeSlot();
    this.admission.resetSlot(slot);
    const replicaId = `${api.name}-${++replicaCounter}`;
    const scratchDir = `${d.scratchRoot}/${replicaId}`;
    Deno.mkdirSync(scratchDir, { recursive: true });
    const listen = api.handler.protobufPath === null ? d.listen : null;
    const init: ReplicaInit = {
      type: "init",
      api,
      replicaId,
      slot,
      projectDir: d.project.dir,
      scratchDir,
      env: handlerEnv(d.project, api, {
        CORTEX_API_NAME: api.name,
        CORTEX_REPLICA_ID: replicaId,
        CORTEX_PROJECT_DIR: d.project.dir,
        CORTEX_SCRATCH_DIR: scratchDir,
      }),
      admission: this.admissionBuffer,
      listen,
      routes: d.routes(),
      apiNames: d.apiNames(),
      logLevel: api.handler.logLevel,
      runtimeLogLevel: d.runtimeLogLevel,
      accessLog: d.accessLog,
      control: d.control,
    };
    const replica = new Replica(
      init,
      workerPermissions(d.project, api, scratchDir, listen, d.netRules()),
      (msg, r) => d.onMessage(msg, r),
    );
    this.replicas.add(replica);
    replica.ready.then(() => {
      this.#updateLimit();
      d.onListeningChange();
    }, (error: Error) => {
      this.error = error.message;
      d.logger.exception(
        `Replica of API "${api.name}" failed to start`,
        error,
        {
          extra: { replicaId },
        },
      );
    });
    replica.exited.then((exit) => this.#onExit(replica, exit));
    return replica;
  }

  #onExit(replica: Replica, exit: ReplicaExit): void {
    this.replicas.delete(replica);
    this.#beats.delete(replica);
    this.admission.releaseSlot(replica.slot);
    this.#updateLimit();
    this.#deps.onListeningChange();
    this.#deps.onExit(replica, exit);
    Deno.remove(`${this.#deps.scratchRoot}/${replica.id}`, { recursive: true })
      .catch(() => {});
    if (exit.reason === "crashed" || exit.reason === "hung") {
      this.restarts++;
      this.#deps.logger.error(
        `Replica "${replica.id}" of API "${this.api.name}" ${exit.reason}: ${exit.message}; replacing it`,
        { extra: { replicaId: replica.id, reason: exit.reason } },
      );
    }
    if (exit.reason !== "failed") this.#reconcile();
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
      live.sort((a, b) =>
        this.admission.load(a.slot) - this.admission.load(b.slot)
      )
        .slice(0, extra).forEach((r) => r.drain());
    }
    this.#updateLimit();
  }

  #updateLimit(): void {
    this.admission.limit = this.ready.length *
      this.api.autoscaling.maxReplicaConcurrency;
  }

  /** A replica whose thread has not ticked for long while it holds work is stuck. */
  #checkHeartbeats(): void {
    const now = Date.now();
    const hangMs = Math.max(10_000, this.api.handler.requestTimeoutMs + 5_000);
    for (const r of this.replicas) {
      if (r.state !== "ready" && r.state !== "draining") continue;
      const beat = this.admission.heartbeat(r.slot);
      const seen = this.#beats.get(r);
      if (!seen || seen.beat !== beat) {
        this.#beats.set(r, { beat, since: now });
      } else if (now - seen.since > hangMs) {
        r.kill(
          "hung",
          `no progress for ${Math.round((now - seen.since) / 1000)} s`,
        );
        this.#deps.onHung?.(r);
      }
    }
  }
}
