/**
 * Knative Serving manifests: one `serving.knative.dev/v1` Service per API.
 *
 * Chaining: Knative names the Service `api-<name>` and routes it on port 80,
 * so inside the cluster an API is `http://api-<name>` (or
 * `http://api-<name>.<namespace>.svc.cluster.local`), not port 8888. Use the
 * plain Kubernetes manifests (`kubernetesManifests`) where handlers chain to
 * `http://api-<name>:8888` unchanged.
 *
 * @module
 */
import type {
  ApiConfig,
  AutoscalingConfig,
  Project,
} from "../config/resolved_config.ts";
import { apiContainer, scratchVolume } from "./_container.ts";
import {
  apiResourceName,
  type KubeObject,
  type ManifestOptions,
  objectMeta,
  toSeconds,
} from "./_meta.ts";
import { edgeAnnotations } from "./edge_settings.ts";

/** Knative's default `container-concurrency-max-limit` (config-defaults). */
export const KNATIVE_MAX_CONTAINER_CONCURRENCY = 1000;
/** Knative's default `max-revision-timeout-seconds` (config-defaults). */
export const KNATIVE_MAX_TIMEOUT_SECONDS = 600;

// Knative sets these itself and rejects them in a revision's env.
const RESERVED_ENV = new Set([
  "PORT",
  "K_SERVICE",
  "K_CONFIGURATION",
  "K_REVISION",
]);
// Bounds Knative validates for the window and scale-down-delay annotations.
const WINDOW_MIN_S = 6;
const WINDOW_MAX_S = 3600;
const PREFIX = "autoscaling.knative.dev";

/**
 * Builds the Knative Serving manifests of a project.
 *
 * @param project The loaded project.
 * @param opts The image holding the compiled binary, and the namespace.
 * @returns One Knative `Service` named `api-<name>` per API.
 * @throws {RangeError} When an API name makes an invalid Kubernetes name, or
 *   `handler.env` sets a variable that Knative reserves.
 *
 * @example
 * ```ts
 * import { loadProject } from "../config/load_project.ts";
 * import { knativeManifests } from "./knative.ts";
 * import { renderManifests } from "./manifests.ts";
 *
 * const project = await loadProject("examples/hello");
 * const objs = knativeManifests(project, { image: "ghcr.io/me/app:1" });
 * if (objs[0]?.metadata.name !== "api-hello") throw new Error("unexpected");
 * const yaml = renderManifests(objs); // write it to knative.yaml
 * ```
 */
export function knativeManifests(
  project: Project,
  opts: ManifestOptions,
): KubeObject[] {
  return project.apis.map((api) => knativeService(project, api, opts));
}

function knativeService(
  project: Project,
  api: ApiConfig,
  opts: ManifestOptions,
): KubeObject {
  const name = apiResourceName(project, api);
  for (const key of Object.keys(api.handler.env)) {
    if (RESERVED_ENV.has(key)) {
      throw new RangeError(
        `Cannot export API "${api.name}" (${project.configPath}:${api.line}) ` +
          `to Knative: handler.env sets "${key}": Knative reserves it`,
      );
    }
  }
  const meta = objectMeta(name, opts.namespace);
  const edge = edgeAnnotations(api);
  return {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: Object.keys(edge).length > 0
      ? { ...meta, annotations: edge }
      : meta,
    spec: {
      template: {
        metadata: {
          labels: meta.labels,
          annotations: knativeAutoscaling(api.autoscaling),
        },
        spec: {
          containerConcurrency: Math.min(
            api.autoscaling.maxReplicaConcurrency,
            KNATIVE_MAX_CONTAINER_CONCURRENCY,
          ),
          // Knative also uses this as the pod's termination grace period
          // (terminationGracePeriodSeconds and lifecycle are not allowed).
          timeoutSeconds: toSeconds(
            api.handler.requestTimeoutMs,
            1,
            KNATIVE_MAX_TIMEOUT_SECONDS,
          ),
          enableServiceLinks: false,
          containers: [
            apiContainer(api, { image: opts.image, platform: "knative" }),
          ],
          // emptyDir needs the `kubernetes.podspec-volumes-emptydir` feature
          // on Knative versions where it is not enabled by default.
          volumes: [scratchVolume()],
        },
      },
    },
  };
}

/**
 * The revision annotations that carry `autoscaling` to Knative's KPA.
 *
 * Mapping:
 * - `target_replica_concurrency` → `target`, with utilisation 100% (Knative's
 *   default of 70% would aim below the configured target).
 * - `window` → `window` (whole seconds, 6s..1h); `downscale_stabilization_period`
 *   → `scale-down-delay` (0..1h). Knative has no upscale stabilisation and no
 *   tolerances: it scales up as soon as the window average asks for it.
 * - `max_upscale_factor` → `max-scale-up-rate` (the largest desired/current
 *   ratio per step); `max_downscale_factor` → `max-scale-down-rate` = 1/factor
 *   (the largest current/desired ratio). Knative reads these two only from the
 *   cluster-wide `config-autoscaler` ConfigMap; on the revision they record the
 *   intent, and an operator copies them there.
 * - `panic_mode: false` → panic threshold 1000% (the maximum, which in
 *   practice disables it); true → panic window as a percentage of the window.
 */
export function knativeAutoscaling(
  a: AutoscalingConfig,
): Record<string, string> {
  const windowS = toSeconds(a.windowMs, WINDOW_MIN_S, WINDOW_MAX_S);
  const annotations: Record<string, string> = {
    [`${PREFIX}/class`]: "kpa.autoscaling.knative.dev",
    [`${PREFIX}/metric`]: "concurrency",
    [`${PREFIX}/target`]: String(a.targetReplicaConcurrency),
    [`${PREFIX}/target-utilization-percentage`]: "100",
    [`${PREFIX}/min-scale`]: String(a.minReplicas),
    [`${PREFIX}/max-scale`]: String(a.maxReplicas),
    [`${PREFIX}/initial-scale`]: String(a.initReplicas),
    [`${PREFIX}/window`]: `${windowS}s`,
    [`${PREFIX}/scale-down-delay`]: `${
      toSeconds(a.downscaleStabilizationPeriodMs, 0, WINDOW_MAX_S)
    }s`,
    [`${PREFIX}/max-scale-up-rate`]: rate(a.maxUpscaleFactor),
  };
  // Factor 0 allows any step down and 1 none: Knative has no rate for either.
  if (a.maxDownscaleFactor > 0 && a.maxDownscaleFactor < 1) {
    annotations[`${PREFIX}/max-scale-down-rate`] = rate(
      1 / a.maxDownscaleFactor,
    );
  }
  if (a.panicMode) {
    const pct = Math.min(
      100,
      Math.max(1, (a.panicWindowMs / 1000 / windowS) * 100),
    );
    annotations[`${PREFIX}/panic-window-percentage`] = rate(pct);
  } else {
    annotations[`${PREFIX}/panic-threshold-percentage`] = "1000";
  }
  return annotations;
}

/** A ratio as a short decimal string ("1.5", "1.3333"). */
function rate(value: number): string {
  return String(Math.round(value * 10000) / 10000);
}
