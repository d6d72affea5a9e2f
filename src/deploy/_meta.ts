/**
 * Names, labels and metadata shared by the Kubernetes and Knative manifests.
 *
 * @module
 */
import type { ApiConfig, Project } from "../config/resolved_config.ts";

/** A Kubernetes object as emitted by the deploy code. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** The part of `metadata` that the deploy code writes. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Options shared by the manifest generators. */
export interface ManifestOptions {
  /** Container image that holds the project's compiled binary. */
  image: string;
  /** Namespace for every object; omitted from the manifests when unset. */
  namespace?: string;
}

/** Label that selects the pods of one API. */
export const API_LABEL = "app.kubernetes.io/name";

// DNS-1035 label: what a Service (and a Knative Service) name must be.
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const MAX_NAME = 63;

/**
 * The cluster name of an API: `api-<name>`, the host that chained requests use.
 *
 * @throws {RangeError} When `api-<name>` is not a valid Kubernetes Service name.
 */
export function apiResourceName(project: Project, api: ApiConfig): string {
  const name = `api-${api.name}`;
  if (name.length > MAX_NAME || !DNS_1035.test(name)) {
    throw new RangeError(
      `Cannot export API "${api.name}" (${project.configPath}:${api.line}): ` +
        `"${name}" is not a valid Kubernetes name: it must be at most ` +
        `${MAX_NAME} characters of lowercase letters, digits and "-", ` +
        `ending with a letter or digit`,
    );
  }
  return name;
}

/** The labels every object of an API carries. */
export function apiLabels(name: string): Record<string, string> {
  return {
    [API_LABEL]: name,
    "app.kubernetes.io/component": "api",
    "app.kubernetes.io/managed-by": "cortex",
  };
}

/** `metadata` with the API's labels and, when given, the namespace. */
export function objectMeta(name: string, namespace?: string): ObjectMeta {
  return namespace === undefined
    ? { name, labels: apiLabels(name) }
    : { name, namespace, labels: apiLabels(name) };
}

/** Milliseconds to whole seconds (rounded up), kept within `[min, max]`. */
export function toSeconds(ms: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.ceil(ms / 1000)));
}

/** Whether the API is served over gRPC (its handler has a `.proto`). */
export function isGrpc(api: ApiConfig): boolean {
  return api.handler.protobufPath !== null;
}
