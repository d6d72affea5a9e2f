/**
 * Plain Kubernetes manifests: per API a Deployment, a Service `api-<name>` on
 * port 8888 (the chaining address) and an autoscaling/v2
 * HorizontalPodAutoscaler on in-flight requests.
 *
 * The HPA reads the Pods metric `cortex_in_flight_requests` through the
 * custom metrics API, which needs Prometheus scraping the pods (the pod
 * template carries `prometheus.io/*` annotations) and prometheus-adapter
 * exposing the series per pod.
 *
 * @module
 */
import type {
  ApiConfig,
  AutoscalingConfig,
  Project,
} from "../config/resolved_config.ts";
import {
  apiContainer,
  GRPC_PORT,
  HTTP_PORT,
  PRE_STOP_SECONDS,
  scratchVolume,
} from "./_container.ts";
import {
  API_LABEL,
  apiResourceName,
  isGrpc,
  type KubeObject,
  type ManifestOptions,
  objectMeta,
  toSeconds,
} from "./_meta.ts";
import { edgeAnnotations } from "./edge_settings.ts";

/** The per-pod metric the HPA scales on; `/metrics` must expose it. */
export const IN_FLIGHT_METRIC = "cortex_in_flight_requests";

// Bounds the API server validates for HPA behavior fields.
const MAX_STABILIZATION_S = 3600;
const MAX_POLICY_PERIOD_S = 1800;

/**
 * Builds the Kubernetes manifests of a project.
 *
 * @param project The loaded project.
 * @param opts The image holding the compiled binary, and the namespace.
 * @returns Per API, in order: Deployment, Service, HorizontalPodAutoscaler,
 *   each named `api-<name>`.
 * @throws {RangeError} When an API name makes an invalid Kubernetes name.
 *
 * @example
 * ```ts
 * import { loadProject } from "../config/load_project.ts";
 * import { kubernetesManifests } from "./kubernetes.ts";
 *
 * const project = await loadProject("examples/hello");
 * const objs = kubernetesManifests(project, { image: "ghcr.io/me/app:1" });
 * const kinds = objs.map((o) => o.kind).join(",");
 * if (kinds !== "Deployment,Service,HorizontalPodAutoscaler") {
 *   throw new Error(kinds);
 * }
 * // writeManifests(objs, "k8s") writes one file per object
 * ```
 */
export function kubernetesManifests(
  project: Project,
  opts: ManifestOptions,
): KubeObject[] {
  return project.apis.flatMap((api) => {
    const name = apiResourceName(project, api);
    return [
      deployment(name, api, opts),
      service(name, api, opts.namespace),
      horizontalPodAutoscaler(name, api, opts.namespace),
    ];
  });
}

function deployment(
  name: string,
  api: ApiConfig,
  opts: ManifestOptions,
): KubeObject {
  const meta = objectMeta(name, opts.namespace);
  const edge = edgeAnnotations(api);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: Object.keys(edge).length > 0
      ? { ...meta, annotations: edge }
      : meta,
    spec: {
      // The HPA owns the replica count afterwards; re-applying this manifest
      // resets it to init_replicas until the HPA's next sync.
      replicas: api.autoscaling.initReplicas,
      selector: { matchLabels: { [API_LABEL]: name } },
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: {
          maxSurge: intOrPercent(api.updateStrategy.maxSurge),
          maxUnavailable: intOrPercent(api.updateStrategy.maxUnavailable),
        },
      },
      template: {
        metadata: {
          labels: meta.labels,
          annotations: {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(HTTP_PORT),
            "prometheus.io/path": "/metrics",
          },
        },
        spec: {
          // preStop sleep, then SIGTERM and the runtime's drain.
          terminationGracePeriodSeconds: PRE_STOP_SECONDS +
            toSeconds(api.handler.shutdownGracePeriodMs, 0, Infinity),
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [
            apiContainer(api, { image: opts.image, platform: "kubernetes" }),
          ],
          volumes: [scratchVolume()],
        },
      },
    },
  };
}

function service(name: string, api: ApiConfig, namespace?: string): KubeObject {
  const ports: Record<string, unknown>[] = [
    { name: "http", port: HTTP_PORT, targetPort: HTTP_PORT, protocol: "TCP" },
  ];
  if (isGrpc(api)) {
    ports.push({
      name: "grpc",
      port: GRPC_PORT,
      targetPort: GRPC_PORT,
      protocol: "TCP",
      appProtocol: "kubernetes.io/h2c",
    });
  }
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(name, namespace),
    spec: { type: "ClusterIP", selector: { [API_LABEL]: name }, ports },
  };
}

function horizontalPodAutoscaler(
  name: string,
  api: ApiConfig,
  namespace?: string,
): KubeObject {
  const a = api.autoscaling;
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: objectMeta(name, namespace),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
      // The HPA cannot scale to zero (without an alpha feature gate).
      minReplicas: Math.max(1, a.minReplicas),
      maxReplicas: a.maxReplicas,
      metrics: [{
        type: "Pods",
        pods: {
          metric: { name: IN_FLIGHT_METRIC },
          target: {
            type: "AverageValue",
            averageValue: String(a.targetReplicaConcurrency),
          },
        },
      }],
      behavior: hpaBehavior(a),
    },
  };
}

/**
 * `behavior` of the HPA from `autoscaling`.
 *
 * Mapping: the stabilisation periods become the stabilisation windows; each
 * factor becomes a Percent policy per autoscaler tick (`max_upscale_factor`
 * 1.5 → +50% per tick, `max_downscale_factor` 0.75 → -25% per tick); a factor
 * that allows no change in a direction disables that direction. The
 * tolerances map to `behavior.*.tolerance` (Kubernetes 1.33+ with the
 * HPAConfigurableTolerance feature; older servers drop the field and use
 * their cluster-wide 10%).
 */
export function hpaBehavior(a: AutoscalingConfig): Record<string, unknown> {
  const periodSeconds = toSeconds(a.tickMs, 1, MAX_POLICY_PERIOD_S);
  return {
    scaleUp: scalingRules(
      a.upscaleStabilizationPeriodMs,
      Math.round((a.maxUpscaleFactor - 1) * 100),
      periodSeconds,
      a.upscaleTolerance,
    ),
    scaleDown: scalingRules(
      a.downscaleStabilizationPeriodMs,
      Math.round((1 - a.maxDownscaleFactor) * 100),
      periodSeconds,
      a.downscaleTolerance,
    ),
  };
}

function scalingRules(
  stabilizationMs: number,
  percent: number,
  periodSeconds: number,
  tolerance: number,
): Record<string, unknown> {
  return {
    stabilizationWindowSeconds: toSeconds(
      stabilizationMs,
      0,
      MAX_STABILIZATION_S,
    ),
    selectPolicy: percent > 0 ? "Max" : "Disabled",
    policies: [{ type: "Percent", value: Math.max(1, percent), periodSeconds }],
    tolerance: String(tolerance),
  };
}

/** "25%" stays a string; "1" becomes the integer 1 (IntOrString). */
function intOrPercent(value: string): string | number {
  return /^\d+$/.test(value) ? Number(value) : value;
}
