import assert from "node:assert/strict";
import { fromYaml, fromYamlAll } from "./_yaml.ts";
import { knativeManifests } from "./knative.ts";
import { kubernetesManifests } from "./kubernetes.ts";
import {
  manifestFileName,
  renderManifests,
  writeManifests,
} from "./manifests.ts";
import { testProject } from "./testdata/project.ts";

const OPTS = { image: "registry.example/shop:1.2.3", namespace: "ml" };

Deno.test("renderManifests() round-trips every object through YAML", () => {
  for (
    const objs of [
      kubernetesManifests(testProject(), OPTS),
      knativeManifests(testProject(), OPTS),
    ]
  ) {
    const text = renderManifests(objs);
    assert.equal(text.split(/^---$/m).length, objs.length);
    // JSON comparison also checks that "8", "true" and "60s" stay strings.
    assert.deepEqual(fromYamlAll(text), JSON.parse(JSON.stringify(objs)));
  }
});

Deno.test("renderManifests() quotes strings that YAML would read as numbers", () => {
  const text = renderManifests(knativeManifests(testProject(), OPTS));
  assert.match(text, /autoscaling\.knative\.dev\/target: "8"/);
  assert.match(text, /containerConcurrency: 64$/m);
});

Deno.test("renderManifests() returns an empty string for no objects", () => {
  assert.equal(renderManifests([]), "");
});

Deno.test("manifestFileName() is <kind>-<name>.yaml in lowercase", () => {
  const names = kubernetesManifests(testProject(), OPTS).map(manifestFileName);
  assert.deepEqual(names.slice(0, 3), [
    "deployment-api-iris.yaml",
    "service-api-iris.yaml",
    "horizontalpodautoscaler-api-iris.yaml",
  ]);
});

Deno.test("writeManifests() writes one parseable file per object", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const objs = kubernetesManifests(testProject(), OPTS);
    const paths = await writeManifests(objs, `${dir}/out/`);
    assert.equal(paths.length, 6);
    assert.equal(paths[0], `${dir}/out/deployment-api-iris.yaml`);
    for (const [i, path] of paths.entries()) {
      assert.deepEqual(
        fromYaml(await Deno.readTextFile(path)),
        JSON.parse(JSON.stringify(objs[i])),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeManifests() refuses two objects with the same file name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const objs = [
      ...kubernetesManifests(testProject(), OPTS),
      ...knativeManifests(testProject(), OPTS),
    ];
    await assert.rejects(
      () => writeManifests(objs, dir),
      (e) =>
        e instanceof TypeError && e.message.includes('"service-api-iris.yaml"'),
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
