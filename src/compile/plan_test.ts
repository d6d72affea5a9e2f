import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadProject } from "../config/load_project.ts";
import {
  RUNTIME_PATHS,
  SERVER_ENV,
  UNSTABLE_FLAGS,
} from "../supervisor/flags.ts";
import { CompileError, defaultScratchRoot, planCompile } from "./plan.ts";

const FIXTURE = fileURLToPath(
  new URL("../../tests/fixtures/compile/", import.meta.url),
);
const GRPC_EXAMPLE = fileURLToPath(
  new URL("../../examples/grpc/", import.meta.url),
);
const BUILD = "/tmp/cortex-plan-test/api.build";

async function plan(opts: { target?: string; hostname?: string } = {}) {
  const project = await loadProject(FIXTURE);
  return await planCompile(project, {
    output: "/tmp/cortex-plan-test/api",
    buildDir: BUILD,
    scratchRoot: "/tmp/cortex-api",
    ...opts,
  });
}

Deno.test("planCompile() embeds the project files after .cortexignore, the wrappers and the worker", async () => {
  const p = await plan();
  const copy = join(BUILD, "project");
  assert.deepEqual(p.includes, [
    `${copy}/.cortex/handlers/handler.ts`,
    `${copy}/.cortex/relative_paths.ts`,
    `${copy}/handler.ts`,
    `${copy}/lib/util.ts`,
    `${copy}/values.json`,
  ]);
  // No dotfiles, no cortex.yaml, no ignored secret.txt.
  assert.ok(
    !p.includes.some((f) =>
      /\.env|cortex\.yaml|secret\.txt|\.cortexignore/.test(f)
    ),
  );
  assert.ok(p.files.every((f) => f.path.startsWith(BUILD + "/")));
});

Deno.test("planCompile() bakes in read and write of the scratch root only, and run for its replicas", async () => {
  const p = await plan();
  assert.deepEqual(p.flags, [
    ...UNSTABLE_FLAGS,
    "--allow-read=/tmp/cortex-api",
    "--allow-write=/tmp/cortex-api",
    "--allow-net=0.0.0.0,127.0.0.1",
    `--allow-env=${SERVER_ENV.join(",")}`,
    "--allow-run",
    "--no-prompt",
  ]);
});

Deno.test("planCompile() runFlags add only the embedded paths to read", async () => {
  const p = await plan();
  const read = p.runFlags.find((f) => f.startsWith("--allow-read="));
  assert.equal(
    read,
    ["--allow-read=/tmp/cortex-api", BUILD, ...RUNTIME_PATHS].join(","),
  );
  assert.deepEqual(
    p.runFlags.filter((f) => !f.startsWith("--allow-read=")),
    p.flags.filter((f) => !f.startsWith("--allow-read=")),
  );
  assert.deepEqual(p.runArgs.slice(-1), [p.entryPath]);
});

Deno.test("planCompile() grants the configured host and handler.allow_net", async () => {
  const project = await loadProject(FIXTURE);
  project.apis[0]!.handler.allowNet = ["api.example.com:443"];
  const p = await planCompile(project, {
    output: "/tmp/x/api",
    buildDir: "/tmp/x/b",
    hostname: "10.0.0.5",
  });
  assert.ok(
    p.flags.includes("--allow-net=10.0.0.5,api.example.com:443,127.0.0.1"),
  );
  assert.ok(p.flags.includes("--allow-read=/tmp/cortex-api"));
});

Deno.test("planCompile() resolves modules as serve does, with a lockfile of the build's own", async () => {
  const p = await plan();
  const map = join(BUILD, "import_map.json");
  const lock = join(BUILD, "deno.lock");
  const config = join(BUILD, "deno.json");
  assert.deepEqual(p.compileArgs.slice(1, 3), ["--config", config]);
  assert.deepEqual(p.runArgs.slice(0, 5), [
    "run",
    "--no-config",
    `--import-map=${map}`,
    `--lock=${lock}`,
    "--cached-only",
  ]);
  const written = (path: string) => {
    const file = p.files.find((f) => f.path === path);
    assert.ok(file && "text" in file.from, path);
    return JSON.parse(file.from.text);
  };
  const imports = written(map);
  assert.ok(imports.imports.cortex.endsWith("/mod.ts"));
  assert.ok(`file://${join(BUILD, "project")}/` in imports.scopes);
  // The runtime's own packages are pinned in the build's lockfile.
  assert.ok("@grpc/grpc-js@1.14.7" in written(lock).npm);
  const denoJson = written(config);
  assert.equal(denoJson.importMap, "./import_map.json");
  assert.equal(denoJson.lock, "./deno.lock");
  // The project's own compiler options (none: Deno's defaults), as serve.
  assert.deepEqual(denoJson.compilerOptions, {});
});

Deno.test("planCompile() deno compile args: config, flags, target, includes, output, entry last", async () => {
  const p = await plan({ target: "aarch64-unknown-linux-gnu" });
  const args = p.compileArgs;
  assert.equal(args[0], "compile");
  assert.equal(args[args.indexOf("--target") + 1], "aarch64-unknown-linux-gnu");
  assert.equal(args.filter((a) => a === "--include").length, p.includes.length);
  assert.equal(args[args.indexOf("--output") + 1], "/tmp/cortex-plan-test/api");
  assert.equal(args.at(-1), p.entryPath);
  for (const flag of p.flags) assert.ok(args.includes(flag), flag);
});

Deno.test("planCompile() embeds the project with handler paths pointing at the wrappers", async () => {
  const p = await plan();
  assert.equal(p.build.apis[0]!.handler.path, ".cortex/handlers/handler.ts");
  assert.deepEqual(p.build.dotenv, { GREETING_FROM_ENV: "hi from .env" });
  assert.ok(p.build.files.includes(".cortex/relative_paths.ts"));
  assert.equal(p.descriptorsJson, "{}");
  assert.match(
    p.entrySource,
    /import\("\.\/project\/\.cortex\/handlers\/handler\.ts"\)/,
  );
  // The entry parses back to the same build.
  const literal = /const BUILD = (".*");/.exec(p.entrySource)![1]!;
  assert.deepEqual(JSON.parse(JSON.parse(literal)), p.build);
});

Deno.test("planCompile() compiles the gRPC descriptors into the entry", async () => {
  const project = await loadProject(GRPC_EXAMPLE);
  const p = await planCompile(project, {
    output: "/tmp/x/grpc",
    buildDir: "/tmp/x/grpc.build",
  });
  const map = JSON.parse(p.descriptorsJson) as Record<string, { set?: string }>;
  const proto = project.apis[0]!.handler.protobufPath!;
  assert.ok((map[proto]?.set?.length ?? 0) > 100);
  assert.equal(p.build.descriptorsJson, p.descriptorsJson);
});

Deno.test("planCompile() rejects a proto that did not compile", async () => {
  const project = await loadProject(FIXTURE);
  await assert.rejects(
    planCompile(project, {
      output: "/tmp/x/api",
      buildDir: "/tmp/x/b",
      descriptors: { "api.proto": { error: "api.proto:3:1: syntax error" } },
    }),
    (e: Error) =>
      e instanceof CompileError &&
      /api\.proto:3:1: syntax error/.test(e.message),
  );
});

Deno.test("planCompile() rejects a build directory inside the project", async () => {
  const project = await loadProject(FIXTURE);
  await assert.rejects(
    planCompile(project, {
      output: "/tmp/x/api",
      buildDir: join(FIXTURE, "build"),
    }),
    CompileError,
  );
});

Deno.test("defaultScratchRoot() is under /tmp and named after the binary", () => {
  assert.equal(defaultScratchRoot("/out/iris"), "/tmp/cortex-iris");
  assert.equal(defaultScratchRoot("/out/my api"), "/tmp/cortex-my_api");
});

Deno.test("planCompile() embeds byte-imported files (even .cortexignore'd ones) and compiles with raw imports on", async () => {
  const dir = fileURLToPath(
    new URL("../../tests/fixtures/onnx_bytes/", import.meta.url),
  );
  const project = await loadProject(dir);
  const p = await planCompile(project, {
    output: "/tmp/cortex-plan-test/iris",
    buildDir: BUILD,
  });
  const copy = join(BUILD, "project");
  assert.deepEqual(p.byteImports, ["model.onnx"]);
  assert.ok(!project.files.includes("model.onnx"));
  assert.ok(p.includes.includes(`${copy}/model.onnx`));
  assert.ok(
    p.files.some((f) =>
      f.path === `${copy}/model.onnx` &&
      "copy" in f.from && f.from.copy === join(dir, "model.onnx")
    ),
  );
  assert.ok(p.compileArgs.includes("--unstable-raw-imports"));
  assert.ok(p.runArgs.includes("--unstable-raw-imports"));
});

Deno.test("planCompile() refuses a byte import from outside the project, naming handler and file", async () => {
  const project = await loadProject(FIXTURE);
  await assert.rejects(
    planCompile(project, {
      output: "/tmp/cortex-plan-test/api",
      buildDir: BUILD,
      byteImports: { "handler.ts": ["/etc/hostname"] },
    }),
    (e: Error) =>
      e instanceof CompileError &&
      /handler\.ts byte-imports "\/etc\/hostname", which is outside the project/
        .test(e.message),
  );
});
