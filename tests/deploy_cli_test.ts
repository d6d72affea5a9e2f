/**
 * The deployment commands through the real CLI: `cortex export` and
 * `cortex dockerfile` (`cortex compile` is in compile_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fromYamlAll } from "../src/deploy/_yaml.ts";
import { fixture } from "./_server.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const FIXTURE = fixture("compile");

async function cortex(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-worker-options",
      "--unstable-net",
      CLI,
      ...args,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cortex-deploy-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
};

Deno.test("cortex export --format kubernetes writes multi-document YAML to stdout", async () => {
  const out = await cortex(
    "export",
    FIXTURE,
    "--format",
    "kubernetes",
    "--image",
    "ghcr.io/me/hello:1",
    "--namespace",
    "ml",
  );
  assert.equal(out.code, 0, out.stderr);
  const docs = fromYamlAll(out.stdout) as Obj[];
  assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), [
    "Deployment/api-hello",
    "Service/api-hello",
    "HorizontalPodAutoscaler/api-hello",
  ]);
  assert.ok(docs.every((d) => d.metadata.namespace === "ml"));
  const container = (docs[0]!.spec as {
    template: { spec: { containers: Record<string, unknown>[] } };
  })
    .template.spec.containers[0]!;
  assert.equal(container.image, "ghcr.io/me/hello:1");
  assert.deepEqual(container.env, [{ name: "CORTEX_API", value: "hello" }]);
});

Deno.test("cortex export --format knative -o DIR writes one file per object", async () => {
  await withTmp(async (dir) => {
    const out = await cortex(
      "export",
      FIXTURE,
      "--format",
      "knative",
      "-o",
      join(dir, "k"),
    );
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual([...Deno.readDirSync(join(dir, "k"))].map((e) => e.name), [
      "service-api-hello.yaml",
    ]);
    const [svc] = fromYamlAll(
      await Deno.readTextFile(join(dir, "k", "service-api-hello.yaml")),
    ) as Obj[];
    assert.equal(svc!.kind, "Service");
    assert.match(out.stdout, /Wrote .*service-api-hello\.yaml/);
    // The default image is named after the project directory.
    assert.match(
      await Deno.readTextFile(join(dir, "k", "service-api-hello.yaml")),
      /image: compile:latest/,
    );
  });
});

Deno.test("cortex export rejects a missing or unknown --format with exit code 2", async () => {
  const missing = await cortex("export", FIXTURE);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /Missing option --format: expected "knative" or "kubernetes"/,
  );
  const unknown = await cortex("export", FIXTURE, "--format", "nomad");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Option --format is "nomad"/);
});

Deno.test("cortex dockerfile -o FILE writes the Dockerfile and its .dockerignore", async () => {
  await withTmp(async (dir) => {
    const path = join(dir, "deploy", "Dockerfile");
    const out = await cortex(
      "dockerfile",
      FIXTURE,
      "-o",
      path,
      "--name",
      "hello",
    );
    assert.equal(out.code, 0, out.stderr);
    const text = await Deno.readTextFile(path);
    assert.match(
      text,
      new RegExp(
        `FROM denoland/deno:${
          Deno.version.deno.replaceAll(".", "\\.")
        } AS build`,
      ),
    );
    assert.match(
      text,
      /RUN deno task cortex compile \/project -o \/out\/hello/,
    );
    assert.match(text, /CMD \["\/app\/hello", "--healthcheck"\]/);
    assert.doesNotMatch(text, /EXPOSE 9000/);
    assert.match(await Deno.readTextFile(`${path}.dockerignore`), /^\.git$/m);
  });
});

Deno.test("cortex dockerfile -o - prints the Dockerfile", async () => {
  const out = await cortex("dockerfile", FIXTURE, "-o", "-");
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^# syntax=docker\/dockerfile:1/);
  assert.match(out.stdout, /ENTRYPOINT \["\/app\/compile"\]/);
});

Deno.test("deploy commands print usage errors without a stack", async () => {
  for (const command of ["compile", "dockerfile", "export"]) {
    const out = await cortex(command);
    assert.equal(out.code, 2, command);
    assert.match(
      out.stderr,
      new RegExp(
        `Missing project directory: usage: cortex ${command} <project>|Missing option --format`,
      ),
    );
    assert.doesNotMatch(out.stderr, /\n\s+at /);
  }
  const help = await cortex("compile", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /DENORT_BIN=\/path\/to\/denort/);
});

Deno.test("cortex export carries edge settings: Secret reference, annotations, comments, warnings on stderr", async () => {
  const out = await cortex(
    "export",
    fixture("edge_pair"),
    "--format",
    "kubernetes",
  );
  assert.equal(out.code, 0, out.stderr);
  // Said in the output above the Deployment, and warned about on stderr.
  assert.match(out.stdout, /^# networking\.auth has no Kubernetes equivalent/m);
  assert.match(
    out.stderr,
    /^Warning: api-open: networking\.rate_limit has no Kubernetes equivalent and is enforced per pod/m,
  );
  const docs = fromYamlAll(out.stdout) as (Obj & {
    metadata: { annotations?: Record<string, string> };
  })[];
  const closed = docs.find((d) =>
    d.kind === "Deployment" && d.metadata.name === "api-closed"
  )!;
  assert.match(closed.metadata.annotations?.["cortex.dev/auth"] ?? "", /keys/);
  assert.match(out.stdout, /keys_file keys\.sha256 is embedded in the image/);
  // A keys file travels in the image: no Secret reference.
  const env = (closed.spec as {
    template: { spec: { containers: { env: Record<string, unknown>[] }[] } };
  }).template.spec.containers[0]!.env;
  assert.deepEqual(env, [{ name: "CORTEX_API", value: "closed" }]);
  const open = docs.find((d) =>
    d.kind === "Deployment" && d.metadata.name === "api-open"
  )!;
  assert.equal(
    open.metadata.annotations?.["cortex.dev/rate-limit"],
    "rps=2; burst=3; per=client",
  );
});
