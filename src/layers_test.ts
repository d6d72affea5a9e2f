/**
 * The import layers of src/ (ARCHITECTURE.md "Layers"): the four process
 * folders never import each other, whatever two processes agree on lives in
 * src/wire/, and only the commands on top (cli/, compile/, testing/) may
 * reach into several processes. Reads every module's import statements, so a
 * new edge fails here with its file and line.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
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
  "grpc",
  "handler",
  "http",
  "log",
  "metrics",
  "trace",
  "websocket",
] as const;

/** Folder -> the folders it may import ("*": any). */
const ALLOWED: Record<string, readonly string[] | "*"> = {
  // On top: commands that start or embed the processes.
  cli: "*",
  compile: "*",
  // The public in-process harness runs the replica core without a process.
  testing: [...SHARED, "wire", "replica"],
  // One folder per process: each sees only contracts and shared folders.
  supervisor: [...SHARED, "wire"],
  server: [...SHARED, "wire"],
  replica: [...SHARED, "wire"],
  grpc_process: [...SHARED, "wire"],
  // The contracts between processes, below every process.
  wire: SHARED,
  // Shared folders use each other; grpc/ holds the replica side of gRPC
  // calls (it uses the replica's batcher and request context).
  ...Object.fromEntries(SHARED.map((folder) => [folder, SHARED])),
  grpc: [...SHARED, "replica"],
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
 * The layer folder of a path relative to the repository root; mod.ts and
 * cli.ts are their own (on top of everything), other files outside src/
 * (examples, fixtures) are "outside".
 */
function folderOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "src") return parts.length > 2 ? parts[1]! : path;
  return path === "mod.ts" || path === "cli.ts" ? path : "outside";
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

Deno.test("src/ layers: process folders import only src/wire/ and shared folders", async () => {
  const root = dirname(SRC);
  const seen = new Set<string>();
  const offending: string[] = [];
  for await (const file of modules(SRC)) {
    const from = relative(root, file);
    const folder = folderOf(from);
    if (folder === from) continue; // src/*.ts: tests of the whole tree
    const isTest = /_test\.tsx?$/.test(from);
    seen.add(folder);
    const allowed = ALLOWED[folder];
    if (allowed === undefined) continue; // reported below
    for (const { spec, line } of importsOf(await Deno.readTextFile(file))) {
      const to = relative(root, join(dirname(file), spec));
      const target = folderOf(to);
      if (target === folder || allowed === "*") continue;
      // A test may read examples and fixtures; a module may not.
      if (target === "outside" && isTest) continue;
      if (allowed.includes(target)) continue;
      if (EXCEPTIONS.some((e) => e.from === from && e.to === to)) continue;
      offending.push(
        `${from}:${line}: ${folder}/ may not import ${to} ("${spec}")`,
      );
    }
  }
  const unplaced = [...seen].filter((f) => ALLOWED[f] === undefined);
  assert.deepEqual(
    unplaced,
    [],
    `folders missing from ALLOWED in src/layers_test.ts: ${unplaced}`,
  );
  assert.deepEqual(offending, [], "\n" + offending.join("\n"));
});
