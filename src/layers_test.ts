/**
 * The import layers of src/ (ARCHITECTURE.md "Layers"): the four process
 * folders never import each other, whatever two processes agree on lives in
 * src/wire/, each process imports only its own side of src/grpc/, and only
 * the commands on top (cli/, compile/, testing/) may reach into several
 * processes (compile/ never into cli/). Reads every module's import
 * statements, so a new edge fails here with its file and line.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = dirname(fileURLToPath(import.meta.url));

/** Folders every process and contract may use: no process logic in them. */
const SHARED = [
  "autoscaler",
  "config",
  "control",
  "deploy",
  "edge",
  "errors",
  "grpc/common",
  "handler",
  "http",
  "log",
  "metrics",
  // POSIX paths without Deno's Node layer (src/path/posix_path.ts).
  "path",
  "trace",
  // Third-party parsers as local modules (yaml, ignore, dotenv's parse).
  "vendor",
  "websocket",
] as const;

/**
 * Folder -> the folders it may import ("*": any). Each side of src/grpc/ is
 * its own layer, so the side a process loads is checked here too (the
 * replica's whole graph is walked by src/grpc/side_imports_test.ts).
 */
const ALLOWED: Record<string, readonly string[] | "*"> = {
  // On top: commands that start or embed the processes; the CLI uses
  // `cortex compile`, never the other way round.
  cli: "*",
  compile: [
    ...SHARED,
    "wire",
    "testing",
    "supervisor",
    "server",
    "replica",
    "grpc_process",
    "grpc/build",
    "grpc/frontend",
    "grpc/replica",
    "grpc/gen",
  ],
  // The public in-process harness runs the replica core without a process.
  testing: [...SHARED, "wire", "replica"],
  // One folder per process: each sees only contracts, shared folders and its
  // own side of gRPC. The serving process of a compiled binary runs the
  // grpc-js frontend itself (src/server/grpc_frontend.ts).
  supervisor: [...SHARED, "wire"],
  server: [...SHARED, "wire", "grpc/build", "grpc/frontend"],
  replica: [...SHARED, "wire", "grpc/replica"],
  grpc_process: [...SHARED, "wire", "grpc/frontend"],
  // The contracts between processes, below every process; the descriptor
  // hand-off compiles the protos.
  wire: [...SHARED, "grpc/build"],
  // Shared folders use each other.
  ...Object.fromEntries(SHARED.map((folder) => [folder, SHARED])),
  // Vendored packages import only their own files.
  vendor: [],
  // gRPC by side: build time, grpc-js, and the replica's side, which runs in
  // the replica (it uses the replica's batcher and request context).
  "grpc/build": SHARED,
  "grpc/gen": SHARED,
  "grpc/frontend": [...SHARED, "grpc/build", "grpc/gen"],
  "grpc/replica": [...SHARED, "replica"],
  // src/grpc/*.ts: test support and tests across the sides.
  grpc: [...SHARED, "grpc/build", "grpc/frontend", "grpc/replica", "grpc/gen"],
};

/** Extra folders a test (`*_test.ts`) of a folder may import. */
const TEST_ALLOWED: Record<string, readonly string[]> = {
  // The gRPC fixtures and test clients of every side (src/grpc/_testing.ts).
  "grpc/build": ["grpc"],
  "grpc/common": ["grpc"],
  "grpc/frontend": ["grpc"],
  "grpc/replica": ["grpc"],
};

/** Single edges that break the table on purpose, with the reason. */
const EXCEPTIONS: { from: string; to: string; why: string }[] = [
  {
    from: "src/replica/runtime.ts",
    to: "mod.ts",
    why: "preloaded so handlers import `cortex` without read access",
  },
  {
    from: "src/server/control_proxy_test.ts",
    to: "src/replica/control_client.ts",
    why: "tests both ends of the control proxy protocol",
  },
  {
    from: "src/server/grpc_bridge_test.ts",
    to: "src/grpc_process/remote_backend.ts",
    why: "tests both ends of the gRPC bridge",
  },
  {
    from: "src/control/server_target_test.ts",
    to: "src/server/replica_pool.ts",
    why: "drives the control target with a real replica pool",
  },
];

/** Comments and template literals blanked (same length, same lines). */
function code(text: string): string {
  let out = "";
  let i = 0;
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    let end = i + 1;
    if (c === "/" && next === "/") {
      end = text.indexOf("\n", i);
      if (end < 0) end = text.length;
      out += blank(text.slice(i, end));
    } else if (c === "/" && next === "*") {
      end = text.indexOf("*/", i + 2) + 2;
      if (end < 2) end = text.length;
      out += blank(text.slice(i, end));
    } else if (c === "`") {
      end = i + 1;
      while (end < text.length && text[end] !== "`") {
        end += text[end] === "\\" ? 2 : 1;
      }
      end += 1;
      out += "`" + blank(text.slice(i + 1, end - 1)) + "`";
    } else if (c === '"' || c === "'") {
      end = i + 1;
      while (end < text.length && text[end] !== c && text[end] !== "\n") {
        end += text[end] === "\\" ? 2 : 1;
      }
      end += 1;
      out += text.slice(i, end);
    } else {
      out += c;
    }
    i = end;
  }
  return out;
}

const IMPORT = new RegExp(
  [
    /\b(?:import|export)\s[^;"'`]*?\bfrom\s*["']([^"']+)["']/.source,
    /\bimport\s*["']([^"']+)["']/.source,
    /\bimport\(\s*["']([^"']+)["']\s*[,)]/.source,
  ].join("|"),
  "g",
);

/** The relative imports of a module: specifier and line. */
export function importsOf(text: string): { spec: string; line: number }[] {
  const found = [];
  const stripped = code(text);
  for (const m of stripped.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (!spec.startsWith(".")) continue;
    const at = m.index + m[0].lastIndexOf(spec);
    const line = stripped.slice(0, at).split("\n").length;
    found.push({ spec, line });
  }
  return found;
}

/**
 * The layer folder of a path relative to the repository root: the folder
 * under src/, or "grpc/<side>" under src/grpc/ ("grpc" for src/grpc/*.ts);
 * mod.ts and cli.ts are their own (on top of everything), other files outside
 * src/ (examples, fixtures) are "outside".
 */
export function folderOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] !== "src") {
    return path === "mod.ts" || path === "cli.ts" ? path : "outside";
  }
  if (parts.length <= 2) return path;
  if (parts[1] === "grpc" && parts.length > 3) return `grpc/${parts[2]}`;
  return parts[1]!;
}

/** What the import check found wrong in a set of modules. */
export interface LayerReport {
  /** `file:line: folder/ may not import target ("spec")`, one per edge. */
  offending: string[];
  /** Folders that hold modules but have no row in the table. */
  unplaced: string[];
  /** Exceptions that no import uses any more (`from -> to`). */
  unusedExceptions: string[];
}

/**
 * Checks the imports of `files` (paths relative to the repository root, with
 * their text) against a table of allowed folder edges and single exceptions.
 */
export function layerViolations(
  files: Iterable<{ path: string; text: string }>,
  allowedTable: Record<string, readonly string[] | "*"> = ALLOWED,
  exceptions: readonly { from: string; to: string }[] = EXCEPTIONS,
  testAllowed: Record<string, readonly string[]> = TEST_ALLOWED,
): LayerReport {
  const offending: string[] = [];
  const unplaced = new Set<string>();
  const used = new Set<(typeof exceptions)[number]>();
  for (const { path: from, text } of files) {
    const folder = folderOf(from);
    if (folder === from) continue; // src/*.ts: tests of the whole tree
    const isTest = /_test\.tsx?$/.test(from);
    const allowed = allowedTable[folder];
    if (allowed === undefined) {
      unplaced.add(folder);
      continue;
    }
    for (const { spec, line } of importsOf(text)) {
      const to = posix.join(posix.dirname(from), spec);
      const target = folderOf(to);
      if (target === folder || allowed === "*") continue;
      if (allowed.includes(target)) continue;
      // A test may read examples and fixtures, and its folder's test support.
      if (isTest && target === "outside") continue;
      if (isTest && testAllowed[folder]?.includes(target)) continue;
      const exception = exceptions.find((e) => e.from === from && e.to === to);
      if (exception) {
        used.add(exception);
        continue;
      }
      offending.push(
        `${from}:${line}: ${folder}/ may not import ${to} ("${spec}")`,
      );
    }
  }
  return {
    offending,
    unplaced: [...unplaced].sort(),
    unusedExceptions: exceptions.filter((e) => !used.has(e)).map((e) =>
      `${e.from} -> ${e.to}`
    ),
  };
}

async function* modules(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "testdata") yield* modules(path);
    else if (/\.tsx?$/.test(entry.name)) yield path;
  }
}

Deno.test("importsOf() finds static, re-export, side-effect and dynamic imports, not comments or templates", () => {
  const text = [
    'import { a } from "./a.ts";',
    "import {",
    "  b,",
    '} from "../b/b.ts";',
    'export type { C } from "./c.ts";',
    'import "../d.ts";',
    'const e = await import("./e.ts");',
    '// import { f } from "./f.ts";',
    '/* import "./g.ts"; */',
    'const h = `import { h } from "./h.ts"`;',
    'import { i } from "npm:i";',
  ].join("\n");
  assert.deepEqual(importsOf(text), [
    { spec: "./a.ts", line: 1 },
    { spec: "../b/b.ts", line: 4 },
    { spec: "./c.ts", line: 5 },
    { spec: "../d.ts", line: 6 },
    { spec: "./e.ts", line: 7 },
  ]);
});

Deno.test("layerViolations() names each edge that breaks the table, with file and line", () => {
  const file = (path: string, ...imports: string[]) => ({
    path,
    text: imports.map((spec) => `import "${spec}";`).join("\n"),
  });
  const report = layerViolations(
    [
      file(
        "src/server/a.ts",
        "../wire/x.ts",
        "../config/y.ts",
        "./b.ts",
        "../supervisor/child.ts",
        "../grpc/replica/connect_serve.ts",
      ),
      file("src/replica/a.ts", "../grpc/replica/z.ts", "../grpc/frontend/s.ts"),
      file(
        "src/grpc/frontend/a.ts",
        "../common/c.ts",
        "../../replica/batcher.ts",
      ),
      file("src/grpc/replica/a.ts", "../../replica/batcher.ts"),
      file(
        "src/grpc/common/a_test.ts",
        "../_testing.ts",
        "../../../tests/_x.ts",
      ),
      file("src/grpc/common/a.ts", "../_testing.ts"),
      file("src/server/e_test.ts", "../replica/control_client.ts"),
      file("src/newfolder/a.ts", "../wire/x.ts"),
      file("src/cli/a.ts", "../supervisor/supervise.ts", "../compile/plan.ts"),
      file("src/compile/a.ts", "../server/run.ts", "../cli/main.ts"),
    ],
    undefined,
    [
      {
        from: "src/server/e_test.ts",
        to: "src/replica/control_client.ts",
      },
      { from: "src/server/gone.ts", to: "src/replica/gone.ts" },
    ],
  );
  assert.deepEqual(report.offending, [
    'src/server/a.ts:4: server/ may not import src/supervisor/child.ts ("../supervisor/child.ts")',
    'src/server/a.ts:5: server/ may not import src/grpc/replica/connect_serve.ts ("../grpc/replica/connect_serve.ts")',
    'src/replica/a.ts:2: replica/ may not import src/grpc/frontend/s.ts ("../grpc/frontend/s.ts")',
    'src/grpc/frontend/a.ts:2: grpc/frontend/ may not import src/replica/batcher.ts ("../../replica/batcher.ts")',
    'src/grpc/common/a.ts:1: grpc/common/ may not import src/grpc/_testing.ts ("../_testing.ts")',
    'src/compile/a.ts:2: compile/ may not import src/cli/main.ts ("../cli/main.ts")',
  ]);
  assert.deepEqual(report.unplaced, ["newfolder"]);
  assert.deepEqual(report.unusedExceptions, [
    "src/server/gone.ts -> src/replica/gone.ts",
  ]);
});

Deno.test("src/ layers: process folders import only src/wire/, shared folders and their side of gRPC", async () => {
  const root = dirname(SRC);
  const files = [];
  for await (const file of modules(SRC)) {
    files.push({
      path: relative(root, file),
      text: await Deno.readTextFile(file),
    });
  }
  const report = layerViolations(files);
  assert.deepEqual(
    report.unplaced,
    [],
    `folders missing from ALLOWED in src/layers_test.ts: ${report.unplaced}`,
  );
  assert.deepEqual(
    report.unusedExceptions,
    [],
    "EXCEPTIONS no import uses any more",
  );
  assert.deepEqual(report.offending, [], "\n" + report.offending.join("\n"));
});
