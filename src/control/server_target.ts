/**
 * Adapts a running server to {@linkcode ControlTarget}: snapshots from the
 * replica pools, and deploy/patch/refresh/delete as pool operations. The
 * server provides a small {@linkcode ControlHost}; roll-outs run in the
 * background so control calls answer at once.
 *
 * @module
 */

import type {
  ApiConfig,
  AutoscalingConfig,
  Project,
} from "../config/resolved_config.ts";
import type { NetRules } from "../config/net_rules.ts";
import { configChange } from "./api_spec.ts";
import { ControlError } from "./client.ts";
import type {
  ApiSnapshot,
  ApiStatus,
  ControlTarget,
  LogTap,
} from "./control_target.ts";

/** What the control plane uses of a `ReplicaPool`. */
export interface ControlPool {
  api: ApiConfig;
  readonly desired: number;
  readonly ready: readonly unknown[];
  readonly status: ApiStatus;
  readonly error: string | null;
  readonly restarts: number;
  readonly inFlight: number;
  readonly queued: number;
  scaleTo(n: number): void;
  rollOut(api: ApiConfig): Promise<void>;
}

/** What the control plane uses of the server. */
export interface ControlHost {
  /** The APIs served now, by name (the `Server.apis` map). */
  readonly apis: ReadonlyMap<string, {
    pool: ControlPool;
    autoscaler: { updateConfig(cfg: AutoscalingConfig): void };
  }>;
  /** The served project (files and .env of new replicas). */
  readonly project: Project;
  /** Local replica cap (`--max-replicas-per-api`). */
  readonly maxReplicasPerApi: number;
  /** The server's log stream. */
  readonly logTap: LogTap;
  /** Where clients reach `api` (see {@linkcode apiEndpointUrl}). */
  endpointOf(api: ApiConfig): string;
  /** Replaces the project (a deployed directory) before new replicas start. */
  setProject(project: Project): void;
  /** Creates a pool and autoscaler for a new API and starts them. */
  addApi(api: ApiConfig): Promise<void>;
  /**
   * Removes the API from `apis` at once (routing stops), then drains its
   * pool (`autoscaler.stop()`, `pool.stop(grace)`).
   */
  removeApi(name: string): Promise<void>;
  /** Reports a background failure (a roll-out or start that failed). */
  onError(message: string, error: unknown): void;
  /** What handler.allow_net may name on this server (loopback, own ports). */
  netRules?(): NetRules;
}

/**
 * The URL of an API as `cortex get` shows it.
 *
 * @param api The API.
 * @param where The server's host and ports ("0.0.0.0" shows as "localhost").
 */
export function apiEndpointUrl(
  api: ApiConfig,
  where: { hostname: string; port: number; grpcPort: number },
): string {
  const host = where.hostname === "0.0.0.0" ? "localhost" : where.hostname;
  return api.handler.protobufPath !== null
    ? `grpc://${host}:${where.grpcPort}`
    : `http://${host}:${where.port}${api.networking.endpoint}`;
}

/**
 * Builds the control target of a server.
 *
 * @param host The server's side (see {@linkcode ControlHost}).
 * @returns The target for `startControlPlane`.
 */
export function createServerTarget(host: ControlHost): ControlTarget {
  const background = (what: string, work: Promise<void>) => {
    work.catch((error) => host.onError(what, error));
  };
  const runtime = (name: string) => {
    const r = host.apis.get(name);
    if (!r) throw new ControlError(404, `No API named "${name}" is deployed`);
    return r;
  };
  const snapshot = (pool: ControlPool): ApiSnapshot => ({
    config: pool.api,
    status: pool.status,
    error: pool.error,
    replicas: {
      ready: pool.ready.length,
      desired: pool.desired,
      cap: Math.min(pool.api.autoscaling.maxReplicas, host.maxReplicasPerApi),
    },
    inFlight: pool.inFlight,
    queued: pool.queued,
    restarts: pool.restarts,
    endpoint: host.endpointOf(pool.api),
  });
  const apply = (name: string, api: ApiConfig, force: boolean) => {
    const { pool, autoscaler } = runtime(name);
    const change = force ? "rollout" : configChange(pool.api, api);
    if (change === "none") return;
    autoscaler.updateConfig(api.autoscaling);
    if (change === "scaling") {
      pool.api = api;
      pool.scaleTo(pool.desired); // Re-clamps to the new min/max.
    } else {
      const served = pool.api;
      background(
        `Roll-out of API "${name}" failed`,
        pool.rollOut(api).catch((error) => {
          // The pool went back to the served configuration: so does scaling.
          if (pool.api === served) autoscaler.updateConfig(served.autoscaling);
          throw error;
        }),
      );
    }
  };
  return {
    project: () => host.project,
    list: () => [...host.apis.values()].map(({ pool }) => snapshot(pool)),
    get: (name) => {
      const r = host.apis.get(name);
      return r ? snapshot(r.pool) : null;
    },
    deploy(apis, project) {
      if (project !== null) {
        if (project.dir !== host.project.dir) {
          throw new ControlError(
            400,
            `Cannot deploy "${project.dir}": this server serves "${host.project.dir}"; start another server for it`,
          );
        }
        host.setProject(project);
      }
      for (const api of apis) {
        if (host.apis.has(api.name)) apply(api.name, api, project !== null);
        else background(`API "${api.name}" failed to start`, host.addApi(api));
      }
      return Promise.resolve();
    },
    patch(name, api) {
      apply(name, api, false);
      return Promise.resolve();
    },
    refresh(name) {
      const { pool } = runtime(name);
      background(`Refresh of API "${name}" failed`, pool.rollOut(pool.api));
      return Promise.resolve();
    },
    delete(name) {
      runtime(name);
      background(`Deleting API "${name}" failed`, host.removeApi(name));
      return Promise.resolve();
    },
    logs: host.logTap,
    ...(host.netRules ? { netRules: () => host.netRules!() } : {}),
  };
}
