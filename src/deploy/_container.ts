/**
 * The container spec of an API, shared by the Kubernetes and Knative
 * manifests so that both run the binary the same way.
 *
 * @module
 */
import type { ApiConfig } from "../config/resolved_config.ts";
import { isGrpc } from "./_meta.ts";
import { keysEnv } from "./edge_settings.ts";

/** HTTP port of the runtime (API, `/healthz`, `/metrics`). */
export const HTTP_PORT = 8888;
/** gRPC port of the runtime. */
export const GRPC_PORT = 9000;
/**
 * The variable that makes the binary serve one API of the project: each
 * Deployment or Knative Service runs the whole binary but serves only its API.
 */
export const API_ENV = "CORTEX_API";
/** UID and GID of the `nonroot` user in distroless images. */
export const NONROOT_ID = 65532;
/**
 * Seconds a stopping pod keeps serving before SIGTERM, so that endpoints and
 * load balancers stop sending it traffic first (Kubernetes only).
 */
export const PRE_STOP_SECONDS = 5;
/** Name of the writable volume mounted at /tmp (the root is read-only). */
export const SCRATCH_VOLUME = "scratch";

/** Which platform the container is for. */
export type Platform = "kubernetes" | "knative";

/** A container port. */
export interface ContainerPort {
  name: string;
  containerPort: number;
  protocol: "TCP";
}

/**
 * The container ports of an API. Kubernetes gets every port the binary
 * listens on. Knative allows a single port, named after the protocol the
 * queue-proxy must speak: `http1` on 8888, or `h2c` on 9000 for gRPC APIs.
 */
export function containerPorts(
  api: ApiConfig,
  platform: Platform,
): ContainerPort[] {
  const grpc = isGrpc(api);
  if (platform === "knative") {
    return grpc
      ? [{ name: "h2c", containerPort: GRPC_PORT, protocol: "TCP" }]
      : [{ name: "http1", containerPort: HTTP_PORT, protocol: "TCP" }];
  }
  const ports: ContainerPort[] = [
    { name: "http", containerPort: HTTP_PORT, protocol: "TCP" },
  ];
  if (grpc) {
    ports.push({ name: "grpc", containerPort: GRPC_PORT, protocol: "TCP" });
  }
  return ports;
}

/**
 * The readiness probe: `GET /healthz` on the HTTP port, or the standard gRPC
 * health check on the gRPC port for gRPC APIs (Knative probes only the
 * serving port, and for gRPC APIs that is 9000).
 */
export function readinessProbe(api: ApiConfig): Record<string, unknown> {
  const action = isGrpc(api)
    ? { grpc: { port: GRPC_PORT } }
    : { httpGet: { path: "/healthz", port: HTTP_PORT } };
  return {
    ...action,
    periodSeconds: 5,
    timeoutSeconds: 2,
    failureThreshold: 3,
  };
}

/**
 * Requests and limits from `compute`. CPU has a request but no limit (a CPU
 * limit throttles a busy event loop and adds latency); memory is limited to
 * its request; GPUs must be equal in requests and limits.
 */
export function resources(api: ApiConfig): Record<string, unknown> {
  const { cpu, mem, gpu } = api.compute;
  const requests: Record<string, string> = { cpu };
  const limits: Record<string, string> = {};
  if (mem !== null) requests.memory = limits.memory = mem;
  if (gpu > 0) {
    requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = String(gpu);
  }
  return Object.keys(limits).length === 0 ? { requests } : { requests, limits };
}

/**
 * The variables of the container: `CORTEX_API`, then `handler.env`, then
 * the API keys' variable (`networking.auth.keys_env`) from a Secret.
 * `CORTEX_*` names belong to the runtime, so `handler.env` cannot set them.
 * `.env` is not copied: the compiled binary embeds it, and secrets should not
 * travel in manifests.
 */
export function containerEnv(api: ApiConfig): Record<string, unknown>[] {
  const env: Record<string, unknown>[] = [{ name: API_ENV, value: api.name }];
  for (const [name, value] of Object.entries(api.handler.env)) {
    if (!name.startsWith("CORTEX_")) env.push({ name, value });
  }
  return [...env, ...keysEnv(api)];
}

/** A locked-down container: non-root, read-only root, no capabilities. */
export function securityContext(): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    // The image's user is the name "nonroot"; the kubelet can check only a
    // numeric UID against runAsNonRoot, so the UID is given here.
    runAsUser: NONROOT_ID,
    runAsGroup: NONROOT_ID,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** The writable scratch volume (an `emptyDir`), mounted at /tmp. */
export function scratchVolume(): Record<string, unknown> {
  return { name: SCRATCH_VOLUME, emptyDir: {} };
}

/**
 * The container of an API for the given platform. Knative rejects
 * `lifecycle`, so the preStop sleep is added for Kubernetes only.
 */
export function apiContainer(
  api: ApiConfig,
  opts: { image: string; platform: Platform },
): Record<string, unknown> {
  const container: Record<string, unknown> = {
    name: "api",
    image: opts.image,
    env: containerEnv(api),
    ports: containerPorts(api, opts.platform),
    resources: resources(api),
    readinessProbe: readinessProbe(api),
    securityContext: securityContext(),
    volumeMounts: [{ name: SCRATCH_VOLUME, mountPath: "/tmp" }],
  };
  if (opts.platform === "kubernetes") {
    // Needs Kubernetes 1.30+ (the image has no shell for `exec: sleep`).
    container.lifecycle = { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } };
  }
  return container;
}
