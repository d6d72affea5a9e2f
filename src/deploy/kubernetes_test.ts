import assert from "node:assert/strict";
import { IN_FLIGHT_METRIC, kubernetesManifests } from "./kubernetes.ts";
import type { KubeObject } from "./manifests.ts";
import { dig, testProject } from "./testdata/project.ts";

const IMAGE = "registry.example/shop:1.2.3";

function build(): KubeObject[] {
  return kubernetesManifests(testProject(), { image: IMAGE, namespace: "ml" });
}

function find(kind: string, name: string): KubeObject {
  const obj = build().find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(obj, `${kind} ${name} is missing`);
  return obj;
}

Deno.test("kubernetesManifests() emits Deployment, Service and HPA per API", () => {
  assert.deepEqual(
    build().map((o) => [o.apiVersion, o.kind, o.metadata.name]),
    [
      ["apps/v1", "Deployment", "api-iris"],
      ["v1", "Service", "api-iris"],
      ["autoscaling/v2", "HorizontalPodAutoscaler", "api-iris"],
      ["apps/v1", "Deployment", "api-ranker"],
      ["v1", "Service", "api-ranker"],
      ["autoscaling/v2", "HorizontalPodAutoscaler", "api-ranker"],
    ],
  );
  for (const o of build()) assert.equal(o.metadata.namespace, "ml");
});

Deno.test("kubernetesManifests() Deployment: replicas, selector and rollout", () => {
  const d = find("Deployment", "api-iris");
  assert.equal(dig(d, "spec", "replicas"), 3);
  assert.deepEqual(dig(d, "spec", "selector", "matchLabels"), {
    "app.kubernetes.io/name": "api-iris",
  });
  assert.equal(
    dig(d, "spec", "template", "metadata", "labels", "app.kubernetes.io/name"),
    "api-iris",
  );
  assert.deepEqual(dig(d, "spec", "strategy"), {
    type: "RollingUpdate",
    rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 },
  });
  assert.deepEqual(
    dig(find("Deployment", "api-ranker"), "spec", "strategy", "rollingUpdate"),
    { maxSurge: 1, maxUnavailable: "10%" },
  );
  assert.equal(
    dig(d, "spec", "template", "metadata", "annotations", "prometheus.io/port"),
    "8888",
  );
});

Deno.test("kubernetesManifests() Deployment: shutdown grace and preStop", () => {
  const iris = dig(find("Deployment", "api-iris"), "spec", "template", "spec");
  const ranker = dig(
    find("Deployment", "api-ranker"),
    "spec",
    "template",
    "spec",
  );
  assert.equal(dig(iris, "terminationGracePeriodSeconds"), 35); // 5 + 30
  assert.equal(dig(ranker, "terminationGracePeriodSeconds"), 18); // 5 + ceil(12.3)
  assert.deepEqual(dig(iris, "containers", 0, "lifecycle"), {
    preStop: { sleep: { seconds: 5 } },
  });
  assert.equal(dig(iris, "automountServiceAccountToken"), false);
});

Deno.test("kubernetesManifests() Deployment: container spec", () => {
  const c = dig(
    find("Deployment", "api-iris"),
    "spec",
    "template",
    "spec",
    "containers",
    0,
  );
  assert.equal(dig(c, "image"), IMAGE);
  assert.deepEqual(dig(c, "ports"), [{
    name: "http",
    containerPort: 8888,
    protocol: "TCP",
  }]);
  assert.deepEqual(dig(c, "readinessProbe"), {
    httpGet: { path: "/healthz", port: 8888 },
    periodSeconds: 5,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  assert.deepEqual(dig(c, "resources", "requests"), {
    cpu: "500m",
    memory: "1Gi",
  });
  assert.equal(dig(c, "env", 0, "name"), "CORTEX_API");
  assert.equal(dig(c, "env", 0, "value"), "iris");
  assert.equal(dig(c, "securityContext", "readOnlyRootFilesystem"), true);
  assert.equal(dig(c, "securityContext", "runAsNonRoot"), true);
  assert.equal(dig(c, "securityContext", "allowPrivilegeEscalation"), false);
  assert.deepEqual(dig(c, "securityContext", "capabilities"), {
    drop: ["ALL"],
  });

  const g = dig(
    find("Deployment", "api-ranker"),
    "spec",
    "template",
    "spec",
    "containers",
    0,
  );
  assert.deepEqual(dig(g, "ports"), [
    { name: "http", containerPort: 8888, protocol: "TCP" },
    { name: "grpc", containerPort: 9000, protocol: "TCP" },
  ]);
  assert.deepEqual(dig(g, "readinessProbe", "grpc"), { port: 9000 });
  assert.equal(dig(g, "resources", "limits", "nvidia.com/gpu"), "1");
});

Deno.test("kubernetesManifests() Service: api-<name> on 8888, and 9000 for gRPC", () => {
  const http = find("Service", "api-iris");
  assert.equal(dig(http, "spec", "type"), "ClusterIP");
  assert.deepEqual(dig(http, "spec", "selector"), {
    "app.kubernetes.io/name": "api-iris",
  });
  assert.deepEqual(dig(http, "spec", "ports"), [
    { name: "http", port: 8888, targetPort: 8888, protocol: "TCP" },
  ]);
  assert.deepEqual(dig(find("Service", "api-ranker"), "spec", "ports"), [
    { name: "http", port: 8888, targetPort: 8888, protocol: "TCP" },
    {
      name: "grpc",
      port: 9000,
      targetPort: 9000,
      protocol: "TCP",
      appProtocol: "kubernetes.io/h2c",
    },
  ]);
});

Deno.test("kubernetesManifests() HPA: in-flight metric, bounds and target", () => {
  const h = find("HorizontalPodAutoscaler", "api-iris");
  assert.deepEqual(dig(h, "spec", "scaleTargetRef"), {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: "api-iris",
  });
  assert.equal(dig(h, "spec", "minReplicas"), 2);
  assert.equal(dig(h, "spec", "maxReplicas"), 20);
  assert.deepEqual(dig(h, "spec", "metrics"), [{
    type: "Pods",
    pods: {
      metric: { name: IN_FLIGHT_METRIC },
      target: { type: "AverageValue", averageValue: "8" },
    },
  }]);
  assert.equal(IN_FLIGHT_METRIC, "cortex_in_flight_requests");
  const g = find("HorizontalPodAutoscaler", "api-ranker");
  assert.equal(dig(g, "spec", "minReplicas"), 1); // 0 raised: no HPA scale to zero
  assert.equal(
    dig(g, "spec", "metrics", 0, "pods", "target", "averageValue"),
    "2.5",
  );
});

Deno.test("kubernetesManifests() HPA: behavior from stabilisation and factors", () => {
  const h = find("HorizontalPodAutoscaler", "api-iris");
  assert.deepEqual(dig(h, "spec", "behavior"), {
    scaleUp: {
      stabilizationWindowSeconds: 60,
      selectPolicy: "Max",
      policies: [{ type: "Percent", value: 50, periodSeconds: 10 }],
      tolerance: "0.05",
    },
    scaleDown: {
      stabilizationWindowSeconds: 300,
      selectPolicy: "Max",
      policies: [{ type: "Percent", value: 25, periodSeconds: 10 }],
      tolerance: "0.05",
    },
  });
  // max_downscale_factor 1 allows no scale-down at all.
  const g = find("HorizontalPodAutoscaler", "api-ranker");
  assert.equal(
    dig(g, "spec", "behavior", "scaleDown", "selectPolicy"),
    "Disabled",
  );
});
