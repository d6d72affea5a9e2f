/**
 * Converts between a resolved {@linkcode ApiConfig} and its cortex.yaml form,
 * and applies patches: `cortex get` shows the spec, `cortex patch` merges a
 * partial spec into it and validates the result with the config parser.
 *
 * @module
 */

import { ConfigError } from "../config/config_error.ts";
import { formatDuration } from "../config/duration.ts";
import type { parseApiConfigs } from "../config/parse_api_configs.ts";
import type { ApiConfig, HandlerConfig } from "../config/resolved_config.ts";
import { grantsToSpec } from "./policy.ts";

/** A cortex.yaml-style object (snake_case keys, durations as "10s"). */
export type ApiSpec = Record<string, unknown>;

/**
 * Renders an API as cortex.yaml would write it. Fields whose value is derived
 * from another field (`init_replicas`, `target_replica_concurrency`,
 * `panic_window`) are left out when they equal the derived value, so a patch
 * of the other field keeps deriving them.
 *
 * @param api The resolved configuration.
 * @returns The spec; parsing it gives back `api` (apart from `line`).
 */
export function apiToSpec(api: ApiConfig): ApiSpec {
  const h = api.handler;
  const a = api.autoscaling;
  const d = formatDuration;
  const handler: ApiSpec = {
    type: h.type,
    path: h.path,
    ...(h.protobufPath === null ? {} : { protobuf_path: h.protobufPath }),
    config: h.config,
    env: h.env,
    log_level: h.logLevel,
    processes_per_replica: h.processesPerReplica,
    threads_per_process: h.threadsPerProcess,
    ...(h.serverSideBatching === null ? {} : {
      server_side_batching: batchingSpec(h.serverSideBatching, d),
    }),
    request_timeout: d(h.requestTimeoutMs),
    max_body_size: h.maxBodyBytes,
    allow_net: h.allowNet,
    control: grantsToSpec(h.control),
    shutdown_grace_period: d(h.shutdownGracePeriodMs),
    access_log: h.accessLog === 1
      ? true
      : h.accessLog === 0
      ? false
      : h.accessLog,
  };
  const concurrency = h.processesPerReplica * h.threadsPerProcess;
  const autoscaling: ApiSpec = {
    min_replicas: a.minReplicas,
    max_replicas: a.maxReplicas,
    ...(a.initReplicas === a.minReplicas
      ? {}
      : { init_replicas: a.initReplicas }),
    max_replica_concurrency: a.maxReplicaConcurrency,
    ...(a.targetReplicaConcurrency === concurrency
      ? {}
      : { target_replica_concurrency: a.targetReplicaConcurrency }),
    window: d(a.windowMs),
    downscale_stabilization_period: d(a.downscaleStabilizationPeriodMs),
    upscale_stabilization_period: d(a.upscaleStabilizationPeriodMs),
    max_downscale_factor: a.maxDownscaleFactor,
    max_upscale_factor: a.maxUpscaleFactor,
    downscale_tolerance: a.downscaleTolerance,
    upscale_tolerance: a.upscaleTolerance,
    tick: d(a.tickMs),
    panic_mode: a.panicMode,
    ...(a.panicWindowMs === Math.min(6_000, a.windowMs)
      ? {}
      : { panic_window: d(a.panicWindowMs) }),
  };
  return {
    name: api.name,
    kind: api.kind,
    handler,
    compute: {
      cpu: api.compute.cpu,
      ...(api.compute.mem === null ? {} : { mem: api.compute.mem }),
      gpu: api.compute.gpu,
    },
    autoscaling,
    update_strategy: {
      max_surge: surge(api.updateStrategy.maxSurge),
      max_unavailable: surge(api.updateStrategy.maxUnavailable),
    },
    networking: { endpoint: api.networking.endpoint },
  };
}

/** "25%" stays a string; a plain count must be a YAML integer. */
function surge(value: string): string | number {
  return /^\d+$/.test(value) ? Number(value) : value;
}

/**
 * Merges `patch` into `spec` the JSON Merge Patch way (RFC 7386): mappings
 * merge key by key, `null` removes a key, anything else replaces.
 *
 * @param spec The current spec (not modified).
 * @param patch The partial spec.
 * @returns The merged spec.
 */
export function mergeSpec(spec: ApiSpec, patch: ApiSpec): ApiSpec {
  const out: ApiSpec = { ...spec };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    if (value === null) delete out[key];
    else if (isPlainObject(value) && isPlainObject(current)) {
      out[key] = mergeSpec(current, value);
    } else out[key] = value;
  }
  return out;
}

/** True for a non-null, non-array object. */
export function isPlainObject(
  value: unknown,
): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Applies a partial cortex.yaml-style object to an API and validates the
 * result with the config parser.
 *
 * @param current The API as it runs.
 * @param patch The partial spec, e.g. `{ autoscaling: { max_replicas: 4 } }`.
 * @param files The project's files, to check `handler.path`.
 * @param parse The cortex.yaml parser (passed in so the serving process loads
 *   the YAML library only when a patch arrives).
 * @returns The new configuration.
 * @throws {ConfigError} When the result is invalid or the patch renames the API;
 *   issues name the field, under the file `patch of API "<name>"`.
 */
export function applyPatch(
  current: ApiConfig,
  patch: ApiSpec,
  files: readonly string[],
  parse: typeof parseApiConfigs,
): ApiConfig {
  const file = `patch of API "${current.name}"`;
  if ("name" in patch && patch.name !== current.name) {
    throw new ConfigError([{
      file,
      line: 0,
      field: "name",
      message: `name is ${
        JSON.stringify(patch.name)
      }: an API cannot be renamed; deploy a new one instead`,
    }]);
  }
  const merged = mergeSpec(apiToSpec(current), patch);
  try {
    const [api] = parse(
      JSON.stringify(merged, null, 2),
      file,
      new Set(files),
    );
    return { ...api!, line: current.line };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Lines would point into our generated JSON: the field path says enough.
    throw new ConfigError(error.issues.map((i) => ({ ...i, line: 0 })));
  }
}

/**
 * How a new configuration differs from the running one: "none", "scaling"
 * (only `autoscaling` changed: update the autoscaler and `scaleTo` in place)
 * or "rollout" (anything else: `pool.rollOut`).
 */
export function configChange(
  before: ApiConfig,
  after: ApiConfig,
): "none" | "scaling" | "rollout" {
  const strip = (a: ApiConfig) => ({ ...a, line: 0, autoscaling: null });
  if (JSON.stringify(strip(before)) !== JSON.stringify(strip(after))) {
    return "rollout";
  }
  return JSON.stringify(before.autoscaling) ===
      JSON.stringify(after.autoscaling)
    ? "none"
    : "scaling";
}

function batchingSpec(
  b: NonNullable<HandlerConfig["serverSideBatching"]>,
  d: (ms: number) => string,
): ApiSpec {
  return {
    ...(b.mode === "fixed" ? {} : { mode: b.mode }),
    max_batch_size: b.maxBatchSize,
    ...(b.mode === "fixed" ? { batch_interval: d(b.batchIntervalMs) } : {}),
    ...(b.maxLatencyMs === null ? {} : { max_latency: d(b.maxLatencyMs) }),
    ...(b.targetLatencyMs === null
      ? {}
      : { target_latency: d(b.targetLatencyMs) }),
    ...(b.maxConcurrentBatches === 1
      ? {}
      : { max_concurrent_batches: b.maxConcurrentBatches }),
  };
}
