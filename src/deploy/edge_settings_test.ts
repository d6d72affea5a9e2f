import assert from "node:assert/strict";
import type { Project } from "../config/resolved_config.ts";
import { kubernetesManifests } from "./kubernetes.ts";
import { knativeManifests } from "./knative.ts";
import { renderManifests } from "./manifests.ts";
import { fromYamlAll } from "./_yaml.ts";
import { edgeAnnotations, edgeNotes } from "./edge_settings.ts";
import { dig, testProject } from "./testdata/project.ts";

const IMAGE = "registry.example/shop:1.2.3";

/** The test project with iris closed by keys, limited and with CORS set. */
function edgeProject(): Project {
  const project = testProject();
  const iris = project.apis[0]!;
  iris.networking = {
    endpoint: "/iris",
    cors: {
      allowOrigins: ["https://app.example.com", "https://*.example.com"],
      allowHeaders: null,
      exposeHeaders: ["x-request-id"],
      allowCredentials: true,
      maxAge: 600,
    },
    auth: { keysEnv: "IRIS_KEYS", keysFile: "keys.sha256", methods: ["POST"] },
    rateLimit: { rps: 10, burst: 20, per: "key" },
  };
  project.apis[1]!.networking = { endpoint: "/rank", cors: false };
  return project;
}

const iris = () => edgeProject().apis[0]!;

function container(
  objs: { kind: string; metadata: { name: string } }[],
  kind: string,
  name: string,
) {
  const obj = objs.find((o) => o.kind === kind && o.metadata.name === name);
  return dig(obj, "spec", "template", "spec", "containers", 0) as {
    env: Record<string, unknown>[];
  };
}

Deno.test("edgeAnnotations(): cors, auth and rate_limit recorded field by field; unset ones omitted", () => {
  assert.deepEqual(edgeAnnotations(iris()), {
    "cortex.dev/cors":
      "allow_origins=https://app.example.com,https://*.example.com; allow_credentials=true; max_age=600",
    "cortex.dev/auth":
      "keys_env=IRIS_KEYS; keys_file=keys.sha256; methods=POST",
    "cortex.dev/rate-limit": "rps=10; burst=20; per=key",
  });
  assert.deepEqual(edgeAnnotations(edgeProject().apis[1]!), {
    "cortex.dev/cors": "off",
  });
  assert.deepEqual(edgeAnnotations(testProject().apis[0]!), {});
});

Deno.test("kubernetes and knative: keys_env comes from the API's Secret, never a value; annotations on the object", () => {
  const ref = {
    name: "IRIS_KEYS",
    valueFrom: { secretKeyRef: { name: "api-iris-keys", key: "IRIS_KEYS" } },
  };
  const k8s = kubernetesManifests(edgeProject(), { image: IMAGE });
  assert.deepEqual(container(k8s, "Deployment", "api-iris").env.at(-1), ref);
  const deployment = k8s.find((o) => o.kind === "Deployment")!;
  assert.equal(
    deployment.metadata.annotations?.["cortex.dev/rate-limit"],
    "rps=10; burst=20; per=key",
  );
  const kn = knativeManifests(edgeProject(), { image: IMAGE });
  assert.deepEqual(container(kn, "Service", "api-iris").env.at(-1), ref);
  assert.equal(
    kn[0]!.metadata.annotations?.["cortex.dev/auth"],
    "keys_env=IRIS_KEYS; keys_file=keys.sha256; methods=POST",
  );
  // An API without auth gets no Secret reference and no annotations.
  const plain = kubernetesManifests(testProject(), { image: IMAGE });
  assert.ok(
    !container(plain, "Deployment", "api-iris").env.some((e) =>
      "valueFrom" in e
    ),
  );
  assert.equal(plain[0]!.metadata.annotations, undefined);
});

Deno.test("edgeNotes(): says what has no cluster equivalent, per platform", () => {
  const notes = edgeNotes(iris(), "kubernetes");
  assert.equal(notes.length, 3);
  assert.match(notes[0]!, /^networking\.cors has no Kubernetes equivalent/);
  assert.match(
    notes[1]!,
    /^networking\.auth has no Kubernetes equivalent: .*Secret api-iris-keys, which is not generated: kubectl create secret generic api-iris-keys --from-literal=IRIS_KEYS=.*; keys_file keys\.sha256 is embedded in the image/,
  );
  assert.match(
    notes[2]!,
    /enforced per pod, not shared: .*200\/s at max_replicas 20/,
  );
  assert.match(
    edgeNotes(iris(), "knative")[0]!,
    /no Knative Serving equivalent/,
  );
  assert.deepEqual(edgeNotes(testProject().apis[0]!, "knative"), []);
});

Deno.test("renderManifests(): notes become YAML comments above the object, which still parses", () => {
  const objs = kubernetesManifests(edgeProject(), { image: IMAGE });
  const text = renderManifests(
    objs,
    (o) =>
      (o as { kind: string }).kind === "Deployment" &&
        (o as { metadata: { name: string } }).metadata.name === "api-iris"
        ? edgeNotes(iris(), "kubernetes")
        : [],
  );
  assert.ok(text.startsWith("# networking.cors has no Kubernetes equivalent"));
  assert.deepEqual(fromYamlAll(text), JSON.parse(JSON.stringify(objs)));
});
