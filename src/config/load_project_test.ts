import assert from "node:assert/strict";
import { isAbsolute, join, relative, resolve } from "node:path";
import { ConfigError } from "./config_error.ts";
import { loadProject } from "./load_project.ts";

const FIXTURES = "tests/fixtures/config";
const fixture = (name: string) =>
  join(new URL("../../", import.meta.url).pathname, FIXTURES, name);

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    return error;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("loadProject() loads a valid project", async () => {
  const dir = fixture("iris");
  const project = await loadProject(dir);
  assert.equal(project.dir, resolve(dir));
  assert.equal(project.configPath, join(resolve(dir), "cortex.yaml"));
  assert.deepEqual(project.files, [
    "handler.ts",
    "models/model.bin",
    "values.json",
  ]);
  assert.deepEqual(project.dotenv, { MODEL: "large", GREETING: "hello world" });
  assert.equal(project.apis.length, 1);
  const api = project.apis[0];
  assert.ok(api !== undefined);
  assert.equal(api.name, "iris");
  assert.equal(api.line, 2);
  assert.equal(api.networking.endpoint, "/iris");
  assert.deepEqual(api.handler.config, { threshold: 0.5 });
  assert.deepEqual(api.handler.env, { MODEL: "small" });
  assert.deepEqual(api.compute, { cpu: "500m", mem: "256Mi", gpu: 0 });
  assert.deepEqual(
    [api.autoscaling.maxReplicas, api.autoscaling.windowMs],
    [4, 2_000],
  );
});

Deno.test("loadProject() accepts a path relative to the cwd", async () => {
  const rel = relative(Deno.cwd(), fixture("iris"));
  assert.ok(!isAbsolute(rel));
  const project = await loadProject(rel);
  assert.equal(project.dir, fixture("iris"));
  assert.equal(project.apis[0]?.name, "iris");
});

Deno.test("loadProject() reports every issue with the file as given", async () => {
  const dir = fixture("invalid");
  const error = await configError(loadProject(dir));
  const file = join(dir, "cortex.yaml");
  assert.deepEqual(error.message.split("\n"), [
    `${file}:3: handler.type is "python": this runtime serves TypeScript handlers; set handler.type to "typescript" or remove it`,
    `${file}:4: handler.path is "handler.py": expected a .ts, .js, .mts or .mjs file`,
    `${file}:6: autoscaling.max_replica is not a known field: did you mean "max_replicas"?`,
  ]);
});

Deno.test("loadProject() fails without cortex.yaml", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex_load_" });
  try {
    const error = await configError(loadProject(dir));
    assert.equal(
      error.message,
      `${
        join(dir, "cortex.yaml")
      }: no such file: a project directory holds a cortex.yaml that describes its APIs`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadProject() fails on a missing directory", async () => {
  const error = await configError(loadProject("/nonexistent/cortex/dir"));
  assert.match(
    error.message,
    /no such directory: "\/nonexistent\/cortex\/dir"/,
  );
});

Deno.test("loadProject() rejects CORTEX_ variables in .env", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex_load_" });
  try {
    await Deno.writeTextFile(
      join(dir, "cortex.yaml"),
      "name: a\nhandler: {path: h.ts}\n",
    );
    await Deno.writeTextFile(join(dir, "h.ts"), "");
    await Deno.writeTextFile(join(dir, ".env"), "OK=1\nCORTEX_X=2\n");
    const error = await configError(loadProject(dir));
    assert.equal(error.issues[0]?.file, join(dir, ".env"));
    assert.equal(error.issues[0]?.line, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadProject() refuses the root directory", async () => {
  const error = await configError(loadProject("/"));
  assert.match(error.message, /the project directory is the root directory/);
});

Deno.test("loadProject() refuses the home directory", async () => {
  const home = await Deno.makeTempDir({ prefix: "cortex_home_" });
  const saved = Deno.env.get("HOME");
  Deno.env.set("HOME", home);
  try {
    await Deno.writeTextFile(join(home, "cortex.yaml"), "name: a\n");
    const error = await configError(loadProject(home));
    assert.match(error.message, /the project directory is the home directory/);
    // A folder inside the home directory is fine.
    const sub = join(home, "proj");
    await Deno.mkdir(sub);
    await Deno.writeTextFile(
      join(sub, "cortex.yaml"),
      "name: a\nhandler: {path: h.ts}\n",
    );
    await Deno.writeTextFile(join(sub, "h.ts"), "");
    assert.equal((await loadProject(sub)).apis[0]?.name, "a");
  } finally {
    if (saved === undefined) Deno.env.delete("HOME");
    else Deno.env.set("HOME", saved);
    await Deno.remove(home, { recursive: true });
  }
});
