import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Project } from "../config/resolved_config.ts";
import {
  byteImportedFiles,
  byteImportsOutside,
  cacheErrorText,
  CHECK_RULE,
  HANDLER_IMPORTS,
  handlerCheckConfig,
  mergeLocks,
  ModuleGraphError,
  prepareModules,
  readPathsOf,
  readProjectModules,
  RUNTIME_LOCK,
  runtimeImports,
  serveImportMap,
} from "./modules.ts";

async function withDir(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cortex_modules_" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(join(dir, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(dir, path), text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readProjectModules(): deno.json imports and scopes made absolute, and the lockfile", async () => {
  await withDir({
    "deno.json": JSON.stringify({
      imports: { "zod": "npm:zod@3", "#lib/": "./lib/", "./a.ts": "./b.ts" },
      scopes: { "./vendor/": { "zod": "npm:zod@2" } },
    }),
  }, async (dir) => {
    const base = pathToFileURL(dir).href;
    assert.deepEqual(await readProjectModules(dir), {
      imports: {
        "zod": "npm:zod@3",
        "#lib/": `${base}/lib/`,
        [`${base}/a.ts`]: `${base}/b.ts`,
      },
      scopes: { [`${base}/vendor/`]: { "zod": "npm:zod@2" } },
      lock: join(dir, "deno.lock"),
      frozen: false,
      compilerOptions: {},
    });
  });
});

Deno.test('readProjectModules(): no deno.json, an importMap file, and each form of "lock"', async () => {
  await withDir({}, async (dir) => {
    assert.deepEqual(await readProjectModules(dir), {
      imports: {},
      scopes: {},
      lock: join(dir, "deno.lock"),
      frozen: false,
      compilerOptions: {},
    });
  });
  await withDir({
    "deno.json": JSON.stringify({ importMap: "./map.json", lock: false }),
    "map.json": JSON.stringify({ imports: { "x": "./x.ts" } }),
  }, async (dir) => {
    const m = await readProjectModules(dir);
    assert.deepEqual(m.imports, { x: pathToFileURL(join(dir, "x.ts")).href });
    assert.equal(m.lock, null);
  });
  await withDir({
    "deno.json": JSON.stringify({ lock: "locks/app.lock" }),
  }, async (dir) => {
    assert.equal(
      (await readProjectModules(dir)).lock,
      join(dir, "locks/app.lock"),
    );
  });
  await withDir({
    "deno.json": JSON.stringify({ lock: { path: "l.lock", frozen: true } }),
  }, async (dir) => {
    const m = await readProjectModules(dir);
    assert.equal(m.lock, join(dir, "l.lock"));
    assert.equal(m.frozen, true);
  });
  await withDir({
    "deno.json": JSON.stringify({ compilerOptions: { strict: false } }),
  }, async (dir) => {
    const m = await readProjectModules(dir);
    assert.deepEqual(m.compilerOptions, { strict: false });
  });
});

Deno.test("readProjectModules(): a broken deno.json is an error naming it", async () => {
  await withDir({ "deno.json": "{ nope" }, async (dir) => {
    await assert.rejects(
      readProjectModules(dir),
      (e: Error) =>
        e instanceof ModuleGraphError &&
        e.message.startsWith(`${join(dir, "deno.json")} is not valid JSON`),
    );
  });
  await withDir({
    "deno.json": JSON.stringify({ imports: { x: 1 } }),
  }, async (dir) => {
    await assert.rejects(readProjectModules(dir), /"x" must map to a string/);
  });
});

Deno.test("serveImportMap(): handlers get cortex and the protobuf runtime; the runtime's imports stay in its scope", async () => {
  const runtime = await runtimeImports();
  assert.ok(runtime.cortex?.endsWith("/mod.ts"));
  assert.equal(runtime["@grpc/grpc-js"], "npm:@grpc/grpc-js@1.14.7");
  const map = serveImportMap(runtime, "/srv/app", {
    imports: { zod: "npm:zod@3" },
    scopes: {},
  });
  assert.deepEqual(Object.keys(map.imports), HANDLER_IMPORTS);
  assert.equal(map.imports.cortex, runtime.cortex);
  assert.equal(map.imports["@grpc/grpc-js"], undefined);
  assert.deepEqual(map.scopes["file:///srv/app/"], { zod: "npm:zod@3" });
  const src = new URL("../", import.meta.url).href;
  assert.equal(
    map.scopes[src]?.["@grpc/grpc-js"],
    "npm:@grpc/grpc-js@1.14.7",
  );
  assert.equal(
    serveImportMap(runtime, "/srv/app/", { imports: {}, scopes: {} }, "x")
      .imports.cortex,
    "x",
  );
});

Deno.test("mergeLocks(): unions lockfiles, spelling out a dependency once two versions exist", () => {
  const project = JSON.stringify({
    version: "5",
    specifiers: { "npm:string-width@4": "4.2.3" },
    npm: {
      "string-width@4.2.3": {
        integrity: "sha512-a",
        dependencies: ["strip-ansi"],
      },
      "strip-ansi@6.0.1": { integrity: "sha512-b" },
    },
    workspace: { dependencies: ["npm:string-width@4"] },
  });
  const runtime = JSON.stringify({
    version: "5",
    specifiers: { "npm:strip-ansi@7": "7.2.0", "npm:@s/p@1": "1.0.0" },
    npm: {
      "strip-ansi@7.2.0": { integrity: "sha512-c" },
      "@s/p@1.0.0": { integrity: "sha512-d", dependencies: ["strip-ansi"] },
    },
    remote: { "https://x/y.ts": "abc" },
  });
  assert.deepEqual(JSON.parse(mergeLocks([project, runtime, null])), {
    version: "5",
    specifiers: {
      "npm:@s/p@1": "1.0.0",
      "npm:string-width@4": "4.2.3",
      "npm:strip-ansi@7": "7.2.0",
    },
    npm: {
      "@s/p@1.0.0": {
        integrity: "sha512-d",
        dependencies: ["strip-ansi@7.2.0"],
      },
      "string-width@4.2.3": {
        integrity: "sha512-a",
        dependencies: ["strip-ansi@6.0.1"],
      },
      "strip-ansi@6.0.1": { integrity: "sha512-b" },
      "strip-ansi@7.2.0": { integrity: "sha512-c" },
    },
    remote: { "https://x/y.ts": "abc" },
  });
  // One version of a name: written short again, as Deno writes it.
  const one = JSON.parse(mergeLocks([runtime]));
  assert.deepEqual(one.npm["@s/p@1.0.0"].dependencies, ["strip-ansi"]);
  assert.ok(mergeLocks([runtime]).endsWith("}\n"));
});

Deno.test("mergeLocks(): the runtime's deno.lock merges with itself unchanged but for its workspace", async () => {
  const text = await Deno.readTextFile(RUNTIME_LOCK);
  const { workspace: _, ...rest } = JSON.parse(text);
  assert.deepEqual(JSON.parse(mergeLocks([text, text])), rest);
});

Deno.test("mergeLocks(): another lockfile version is an error saying how to upgrade", () => {
  assert.throws(
    () => mergeLocks([JSON.stringify({ version: "4" })], ["/p/deno.lock"]),
    /\/p\/deno\.lock has version 4; .*deno install/,
  );
});

Deno.test("readPathsOf(): npm package folders and local byte/text imports, not code or remote raw imports", () => {
  const dep = (specifier: string, assertionType?: string) => ({
    code: { specifier },
    ...(assertionType ? { assertionType } : {}),
  });
  const info = {
    modules: [
      {
        specifier: "file:///p/handler.ts",
        local: "/p/handler.ts",
        dependencies: [
          dep("file:///p/model.onnx", "bytes"),
          dep("file:///p/labels.txt", "text"),
          dep("file:///p/lib.ts"),
          dep("npm:/onnxruntime-web@1.30.0/dist/x.wasm", "bytes"),
        ],
      },
      { specifier: "file:///p/model.onnx", local: "/p/model.onnx" },
      { specifier: "file:///p/labels.txt", local: "/p/labels.txt" },
      { specifier: "file:///p/lib.ts", local: "/p/lib.ts" },
    ],
    npmPackages: {
      "onnxruntime-web@1.30.0": { localPath: "/cache/onnxruntime-web/1.30.0" },
      "nolocal@1.0.0": {},
    },
  };
  assert.deepEqual(byteImportedFiles(info), ["/p/labels.txt", "/p/model.onnx"]);
  assert.deepEqual(readPathsOf(info), [
    "/cache/onnxruntime-web/1.30.0",
    "/p/labels.txt",
    "/p/model.onnx",
  ]);
});

Deno.test("byteImportsOutside(): files outside the project directory, including a sibling with the same prefix", () => {
  assert.deepEqual(
    byteImportsOutside("/p/proj", [
      "/p/proj/model.onnx",
      "/p/proj/sub/m.bin",
      "/etc/passwd",
      "/p/project2/x.bin",
    ]),
    ["/etc/passwd", "/p/project2/x.bin"],
  );
  assert.deepEqual(byteImportsOutside("/p/proj/", ["/p/proj/a"]), []);
});

Deno.test("cacheErrorText(): Deno's error without the backtrace and deno add advice", () => {
  assert.equal(
    cacheErrorText(
      'error: Import "zzz" not a dependency and not in import map from "file:///p/h.ts"\n' +
        "  hint: If you want to use the npm package, try running `deno add npm:zzz`\n" +
        "    at file:///p/h.ts:1:8\n\nStack backtrace:\n   0: <unknown>\n",
    ),
    'Import "zzz" not a dependency and not in import map from "file:///p/h.ts"\n    at file:///p/h.ts:1:8',
  );
});

function projectOf(dir: string, paths: string[]): Project {
  return {
    dir,
    apis: paths.map((path, i) => ({
      name: `api${i}`,
      handler: { path },
    })),
  } as unknown as Project;
}

Deno.test("prepareModules(): caches the handlers' graph into the project's lockfile and writes the serving process's files", async () => {
  await withDir({
    "deno.json": JSON.stringify({ imports: { "y": "npm:yaml@2.9.1" } }),
    "handler.ts": 'import { HttpError } from "cortex";\n' +
      'import Y from "y";\nimport "./lib.ts";\n' +
      "export class Handler { x = [HttpError, Y]; }\n",
    "lib.ts": "export {};\n",
  }, async (dir) => {
    const scratch = await Deno.makeTempDir({ prefix: "cortex_scratch_" });
    try {
      const files = await prepareModules(
        projectOf(dir, ["handler.ts"]),
        scratch,
      );
      // The project's lockfile has what the handler imports, not the
      // runtime's dependencies that "cortex" brings.
      const projectLock = JSON.parse(
        await Deno.readTextFile(join(dir, "deno.lock")),
      );
      assert.deepEqual(Object.keys(projectLock.npm), ["yaml@2.9.1"]);
      const serveLock = JSON.parse(await Deno.readTextFile(files.lock));
      assert.ok("yaml@2.9.1" in serveLock.npm);
      assert.ok("@grpc/grpc-js@1.14.7" in serveLock.npm);
      const map = JSON.parse(await Deno.readTextFile(files.importMap));
      assert.deepEqual(map.scopes[`${pathToFileURL(dir).href}/`], {
        y: "npm:yaml@2.9.1",
      });
      // Replicas may read exactly the folders of the handler's npm packages
      // in Deno's cache: yaml's, not the runtime's (@grpc/grpc-js).
      const packages = JSON.parse(await Deno.readTextFile(files.packages!));
      assert.deepEqual(Object.keys(packages), ["handler.ts"]);
      assert.equal(packages["handler.ts"].length, 1);
      assert.match(packages["handler.ts"][0], /[/\\]yaml[/\\]2\.9\.1$/);
      assert.ok((await Deno.stat(packages["handler.ts"][0])).isDirectory);
    } finally {
      await Deno.remove(scratch, { recursive: true });
    }
  });
});

Deno.test("prepareModules(): a module that does not resolve is an error naming the API, the file and the specifier", async () => {
  await withDir({
    "handler.ts": 'import "./lib.ts";\n',
    "lib.ts": 'import { x } from "not-declared";\nexport { x };\n',
  }, async (dir) => {
    const scratch = await Deno.makeTempDir({ prefix: "cortex_scratch_" });
    try {
      await assert.rejects(
        prepareModules(projectOf(dir, ["handler.ts"]), scratch),
        (e: Error) => {
          assert.ok(e instanceof ModuleGraphError);
          assert.match(
            e.message,
            /^Cannot load the modules of API "api0" \(handler\.ts\): /,
          );
          assert.match(e.message, /Import "not-declared" not a dependency/);
          assert.match(e.message, /lib\.ts:1:\d+/);
          assert.match(e.message, /deno\.json "imports"/);
          return true;
        },
      );
    } finally {
      await Deno.remove(scratch, { recursive: true });
    }
  });
});

Deno.test("prepareModules(): handlers are type-checked with the project's own compilerOptions, as compile does", async () => {
  // Fine under Deno's defaults; TS18048 under noUncheckedIndexedAccess.
  const handler = "const xs = [{ n: 1 }];\n" +
    "export class Handler { handleGet() { return xs[0].n; } }\n";
  // No deno.json: Deno's defaults, the handler serves.
  await withDir({ "handler.ts": handler }, async (dir) => {
    const scratch = await Deno.makeTempDir({ prefix: "cortex_scratch_" });
    try {
      await prepareModules(projectOf(dir, ["handler.ts"]), scratch);
      const config = JSON.parse(
        await Deno.readTextFile(join(scratch, "check.json")),
      );
      assert.deepEqual(
        config,
        handlerCheckConfig({}, "./import_map.json", "./check.lock"),
      );
    } finally {
      await Deno.remove(scratch, { recursive: true });
    }
  });
  // The project asks for noUncheckedIndexedAccess: serve refuses, naming
  // the error and the rule; --no-check skips it.
  await withDir({
    "deno.json": JSON.stringify({
      compilerOptions: { noUncheckedIndexedAccess: true },
    }),
    "handler.ts": handler,
  }, async (dir) => {
    const scratch = await Deno.makeTempDir({ prefix: "cortex_scratch_" });
    try {
      await assert.rejects(
        prepareModules(projectOf(dir, ["handler.ts"]), scratch),
        (e: Error) => {
          assert.ok(e instanceof ModuleGraphError);
          assert.match(e.message, /^Type check failed for API "api0"/);
          assert.match(e.message, /TS2532|TS18048/);
          assert.match(e.message, /handler\.ts:2:/);
          assert.ok(e.message.endsWith(CHECK_RULE), e.message);
          return true;
        },
      );
      await prepareModules(projectOf(dir, ["handler.ts"]), scratch, {
        noCheck: true,
      });
    } finally {
      await Deno.remove(scratch, { recursive: true });
    }
  });
});
