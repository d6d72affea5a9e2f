import assert from "node:assert/strict";
import { knativeManifests } from "./knative.ts";
import { dig, testProject } from "./testdata/project.ts";

const IMAGE = "registry.example/shop:1.2.3";
const A = "autoscaling.knative.dev/";

function build(namespace?: string) {
  const opts = namespace === undefined
    ? { image: IMAGE }
    : { image: IMAGE, namespace };
  return knativeManifests(testProject(), opts);
}

Deno.test("knativeManifests() emits one serving.knative.dev/v1 Service per API", () => {
  const objs = build("ml");
  assert.equal(objs.length, 2);
  assert.deepEqual(objs.map((o) => [o.apiVersion, o.kind, o.metadata.name]), [
    ["serving.knative.dev/v1", "Service", "api-iris"],
    ["serving.knative.dev/v1", "Service", "api-ranker"],
  ]);
  for (const o of objs) assert.equal(o.metadata.namespace, "ml");
  assert.equal(
    dig(objs[0], "metadata", "labels", "app.kubernetes.io/name"),
    "api-iris",
  );
});

Deno.test("knativeManifests() omits the namespace when none is given", () => {
  for (const o of build()) assert.equal("namespace" in o.metadata, false);
});

Deno.test("knativeManifests() maps autoscaling to revision annotations", () => {
  const ann = dig(build()[0], "spec", "template", "metadata", "annotations");
  assert.deepEqual(ann, {
    [`${A}class`]: "kpa.autoscaling.knative.dev",
    [`${A}metric`]: "concurrency",
    [`${A}target`]: "8",
    [`${A}target-utilization-percentage`]: "100",
    [`${A}min-scale`]: "2",
    [`${A}max-scale`]: "20",
    [`${A}initial-scale`]: "3",
    [`${A}window`]: "60s",
    [`${A}scale-down-delay`]: "300s",
    [`${A}max-scale-up-rate`]: "1.5",
    [`${A}max-scale-down-rate`]: "1.3333",
    [`${A}panic-threshold-percentage`]: "1000",
  });
});

Deno.test("knativeManifests() clamps the window and keeps fractional targets", () => {
  const ann = dig(
    build()[1],
    "spec",
    "template",
    "metadata",
    "annotations",
  ) as Record<
    string,
    string
  >;
  assert.equal(ann[`${A}target`], "2.5");
  assert.equal(ann[`${A}min-scale`], "0");
  assert.equal(ann[`${A}window`], "6s"); // 2s raised to Knative's minimum
  assert.equal(ann[`${A}max-scale-down-rate`], undefined); // factor 1
  assert.equal(ann[`${A}panic-window-percentage`], "50"); // 3s of 6s
  assert.equal(ann[`${A}panic-threshold-percentage`], undefined);
});

Deno.test("knativeManifests() sets containerConcurrency and timeoutSeconds", () => {
  const [iris, ranker] = build();
  assert.equal(
    dig(iris, "spec", "template", "spec", "containerConcurrency"),
    64,
  );
  assert.equal(dig(iris, "spec", "template", "spec", "timeoutSeconds"), 46);
  // 4096 is over Knative's default container-concurrency-max-limit.
  assert.equal(
    dig(ranker, "spec", "template", "spec", "containerConcurrency"),
    1000,
  );
  assert.equal(dig(ranker, "spec", "template", "spec", "timeoutSeconds"), 600);
});

Deno.test("knativeManifests() builds the HTTP container", () => {
  const spec = dig(build()[0], "spec", "template", "spec");
  const c = dig(spec, "containers", 0);
  assert.equal(dig(spec, "containers", "length"), 1);
  assert.equal(dig(c, "image"), IMAGE);
  assert.deepEqual(dig(c, "ports"), [{
    name: "http1",
    containerPort: 8888,
    protocol: "TCP",
  }]);
  assert.deepEqual(dig(c, "env"), [
    { name: "CORTEX_API", value: "iris" },
    { name: "MODEL_BUCKET", value: "s3://models" },
    { name: "LOG_FORMAT", value: "json" },
  ]);
  assert.deepEqual(dig(c, "readinessProbe", "httpGet"), {
    path: "/healthz",
    port: 8888,
  });
  assert.deepEqual(dig(c, "resources"), {
    requests: { cpu: "500m", memory: "1Gi" },
    limits: { memory: "1Gi" },
  });
  assert.equal(dig(c, "lifecycle"), undefined);
  assert.equal(dig(spec, "terminationGracePeriodSeconds"), undefined);
  assert.deepEqual(dig(c, "volumeMounts"), [{
    name: "scratch",
    mountPath: "/tmp",
  }]);
  assert.deepEqual(dig(spec, "volumes"), [{ name: "scratch", emptyDir: {} }]);
});

Deno.test("knativeManifests() builds the gRPC container on h2c 9000", () => {
  const c = dig(build()[1], "spec", "template", "spec", "containers", 0);
  assert.deepEqual(dig(c, "ports"), [{
    name: "h2c",
    containerPort: 9000,
    protocol: "TCP",
  }]);
  assert.deepEqual(dig(c, "readinessProbe", "grpc"), { port: 9000 });
  assert.equal(dig(c, "readinessProbe", "httpGet"), undefined);
  assert.deepEqual(dig(c, "resources"), {
    requests: { cpu: "2", "nvidia.com/gpu": "1" },
    limits: { "nvidia.com/gpu": "1" },
  });
  // handler.env cannot override the runtime's CORTEX_* variables.
  assert.deepEqual(dig(c, "env"), [
    { name: "CORTEX_API", value: "ranker" },
    { name: "TOP_K", value: "10" },
  ]);
});

Deno.test("knativeManifests() locks down the container", () => {
  for (const o of build()) {
    assert.deepEqual(
      dig(o, "spec", "template", "spec", "containers", 0, "securityContext"),
      {
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      },
    );
  }
});

Deno.test("knativeManifests() never copies .env into the manifests", () => {
  assert.equal(JSON.stringify(build()).includes("not-in-manifests"), false);
});

Deno.test("knativeManifests() rejects env that Knative reserves", () => {
  const project = testProject();
  project.apis[0]!.handler.env.PORT = "1234";
  assert.throws(
    () => knativeManifests(project, { image: IMAGE }),
    (e) =>
      e instanceof RangeError && e.message.includes('"PORT"') &&
      e.message.includes("/srv/shop/cortex.yaml:1"),
  );
});

Deno.test("knativeManifests() rejects an API name that is no Kubernetes name", () => {
  const project = testProject();
  project.apis[1]!.name = "Ranker_V2";
  assert.throws(
    () => knativeManifests(project, { image: IMAGE }),
    (e) =>
      e instanceof RangeError && e.message.includes('"api-Ranker_V2"') &&
      e.message.includes("cortex.yaml:30"),
  );
});
