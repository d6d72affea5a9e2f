/**
 * Plans a `cortex compile`: everything up to the packaging step, as data
 * that tests can check and run. {@linkcode planCompile} decides the entry
 * module, the files to embed, the descriptors and the exact flags;
 * build.ts writes the plan to disk and deno_compile.ts hands it to
 * `deno compile`.
 *
 * @module
 */

import { basename, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Project } from "../config/resolved_config.ts";
import {
  compileDescriptors,
  type DescriptorMap,
  encodeDescriptors,
} from "../wire/descriptors.ts";
import { moduleFlags } from "../wire/prepared_files.ts";
import {
  handlerByteImports,
  handlerCheckConfig,
  mergeLocks,
  type ProjectModules,
  readProjectModules,
  RUNTIME_LOCK,
  runtimeImports,
  serveImportMap,
} from "../supervisor/modules.ts";
import { binaryPermissionFlags, runPermissionFlags } from "./binary_flags.ts";
import {
  type EmbeddedBuild,
  entrySource,
  PROJECT_SUBDIR,
  RELATIVE_PATHS_FILE,
  wrapperPath,
  wrapperSource,
} from "./entry_source.ts";

const BINARY_MAIN_URL = new URL("./binary_main.ts", import.meta.url).href;
const RELATIVE_PATHS_SOURCE = fileURLToPath(
  new URL("./relative_paths.ts", import.meta.url),
);

/** Options of {@linkcode planCompile}. */
export interface CompileOptions {
  /** Path of the binary to write. */
  output: string;
  /** Directory for generated files; must not be inside the project. */
  buildDir: string;
  /** `deno compile --target`, or undefined for this machine. */
  target?: string;
  /** Default listening address baked into the binary (default "0.0.0.0"). */
  hostname?: string;
  /** Scratch root on disk (default `/tmp/cortex-<output name>`). */
  scratchRoot?: string;
  /** Precompiled descriptors (default: compiled from the project's protos). */
  descriptors?: DescriptorMap;
  /** `deno compile --no-check` (`cortex compile --no-check`). */
  noCheck?: boolean;
  /**
   * Handler path → the files it byte-imports (default: read from the
   * handlers' module graphs, {@linkcode handlerByteImports}).
   */
  byteImports?: Record<string, string[]>;
}

/** A file to write into the build directory. */
export interface BuildFile {
  /** Absolute destination path. */
  path: string;
  /** Absolute source path to copy, or the text to write. */
  from: { copy: string } | { text: string };
}

/** Everything `cortex compile` does, decided up front. */
export interface CompilePlan {
  project: Project;
  output: string;
  buildDir: string;
  /** `<buildDir>/main.ts`. */
  entryPath: string;
  entrySource: string;
  /** Files of the build directory: the project copy, wrappers and the entry. */
  files: BuildFile[];
  /** Absolute paths given to `deno compile --include`. */
  includes: string[];
  /**
   * Files the handlers byte-import (`with { type: "bytes" }`) that are not
   * among the project's files (.cortexignore), relative to the project:
   * copied and embedded all the same (they are part of the module graph).
   */
  byteImports: string[];
  /** Permission and unstable flags the binary carries. */
  flags: string[];
  /** The same flags for `deno run` of the entry (read extended to what is embedded). */
  runFlags: string[];
  /** The compiled descriptors as embedded (`encodeDescriptors`). */
  descriptorsJson: string;
  /** Arguments of `deno compile` (after the executable). */
  compileArgs: string[];
  /** Arguments of `deno run` of the entry, before the binary's own arguments. */
  runArgs: string[];
  /** What the entry embeds. */
  build: EmbeddedBuild;
}

/** Thrown when the project cannot be compiled (exit code 2). */
export class CompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompileError";
  }
}

function inside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.replace(/\/?$/, "/"));
}

/** Default scratch root of a binary: under /tmp, named after it. */
export function defaultScratchRoot(output: string): string {
  const name = basename(output).replace(/[^A-Za-z0-9._-]/g, "_") || "binary";
  return `/tmp/cortex-${name}`;
}

async function descriptorsOf(
  project: Project,
  given?: DescriptorMap,
): Promise<DescriptorMap> {
  const map = given ??
    (project.apis.some((a) => a.handler.protobufPath !== null)
      ? await compileDescriptors(project)
      : {});
  for (const [path, d] of Object.entries(map)) {
    if (d.error !== undefined) {
      throw new CompileError(
        `Cannot compile "${project.dir}": protobuf "${path}" does not compile: ${d.error}`,
      );
    }
  }
  return map;
}

/** A file's text, or null when it does not exist. */
async function readOptional(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** The project's import map with its file URLs moved to the project copy. */
function rebase(
  modules: ProjectModules,
  from: string,
  to: string,
): Pick<ProjectModules, "imports" | "scopes"> {
  const prefix = pathToFileURL(from).href.replace(/\/?$/, "/");
  const target = pathToFileURL(to).href.replace(/\/?$/, "/");
  const move = (url: string) =>
    url.startsWith(prefix) ? target + url.slice(prefix.length) : url;
  const section = (s: Record<string, string>) =>
    Object.fromEntries(Object.entries(s).map(([k, v]) => [move(k), move(v)]));
  return {
    imports: section(modules.imports),
    scopes: Object.fromEntries(
      Object.entries(modules.scopes).map(([k, v]) => [move(k), section(v)]),
    ),
  };
}

/**
 * The byte-imported files not already among the project's files, relative
 * to the project. The binary's project copy must hold each, so each must be
 * inside the project.
 *
 * @throws {CompileError} Naming the handler and the file outside the project.
 */
function embeddedByteImports(
  project: Project,
  byHandler: Record<string, string[]>,
): string[] {
  const files = new Set(project.files);
  const out = new Set<string>();
  for (const [handler, paths] of Object.entries(byHandler)) {
    for (const path of paths) {
      if (!inside(project.dir, path)) {
        throw new CompileError(
          `Cannot compile "${project.dir}": ${handler} byte-imports "${path}", which is outside the project; a compiled binary embeds only the project: move the file into the project`,
        );
      }
      const rel = path.slice(project.dir.replace(/\/?$/, "/").length);
      if (!files.has(rel)) out.add(rel);
    }
  }
  return [...out].sort();
}

/**
 * Plans the compilation of `project`.
 *
 * Pure apart from reading the project's deno.json and the lockfiles, and
 * compiling the protos (with buf) when `opts.descriptors` is not given.
 *
 * @param project The loaded project.
 * @param opts Output, build directory, target and what the binary bakes in.
 * @returns The plan.
 * @throws {CompileError} When the build directory or the output is inside
 *   the project, or a proto does not compile.
 *
 * @example
 * ```ts ignore
 * const plan = await planCompile(await loadProject("examples/hello"), {
 *   output: "/tmp/hello", buildDir: "/tmp/hello.build",
 * });
 * console.log(plan.flags.join(" "));
 * ```
 */
export async function planCompile(
  project: Project,
  opts: CompileOptions,
): Promise<CompilePlan> {
  const output = resolve(opts.output);
  const buildDir = resolve(opts.buildDir);
  if (inside(project.dir, buildDir) || inside(buildDir, project.dir)) {
    throw new CompileError(
      `Cannot compile "${project.dir}": the build directory "${buildDir}" must not overlap the project`,
    );
  }
  if (inside(buildDir, output)) {
    throw new CompileError(
      `Cannot compile "${project.dir}": the output "${output}" is inside the build directory`,
    );
  }
  const descriptorsJson = encodeDescriptors(
    await descriptorsOf(project, opts.descriptors),
  );
  const hostname = opts.hostname ?? "0.0.0.0";
  const scratchRoot = opts.scratchRoot ?? defaultScratchRoot(output);
  const flags = binaryPermissionFlags(project, { hostname, scratchRoot });

  const copyDir = join(buildDir, PROJECT_SUBDIR);
  const byteImports = await embeddedByteImports(
    project,
    opts.byteImports ?? await handlerByteImports(project),
  );
  const handlerPaths = [...new Set(project.apis.map((a) => a.handler.path))];
  const generated: [string, BuildFile["from"]][] = [
    [RELATIVE_PATHS_FILE, { copy: RELATIVE_PATHS_SOURCE }],
    ...handlerPaths.map((
      p,
    ): [string, BuildFile["from"]] => [wrapperPath(p), {
      text: wrapperSource(p),
    }]),
  ];
  const build: EmbeddedBuild = {
    name: basename(output),
    apis: project.apis.map((api) => ({
      ...api,
      handler: { ...api.handler, path: wrapperPath(api.handler.path) },
    })),
    // A binary's replicas may read whatever it embeds, so the byte-imported
    // files join the project's: the per-handler grant is serve's alone.
    files: [...project.files, ...byteImports, ...generated.map(([rel]) => rel)]
      .sort(),
    dotenv: project.dotenv,
    descriptorsJson,
    permissions: flags,
    scratchRoot,
    hostname,
  };
  // Modules as under `cortex serve` (src/supervisor/modules.ts): the
  // project's deno.json imports scoped to the project copy, the runtime's to
  // the runtime, and a lockfile of the build's own (the project's merged with
  // the runtime's), so neither compiling nor running writes the runtime's.
  const importMapPath = join(buildDir, "import_map.json");
  const lockPath = join(buildDir, "deno.lock");
  // deno compile type-checks with the project's compiler options, as
  // `cortex serve` does (modules.ts handlerCheckConfig): one rule for both.
  const configPath = join(buildDir, "deno.json");
  const modules = await readProjectModules(project.dir);
  const importMap = serveImportMap(
    await runtimeImports(),
    copyDir,
    rebase(modules, project.dir, copyDir),
  );
  const lockText = mergeLocks(
    [
      modules.lock === null ? null : await readOptional(modules.lock),
      await Deno.readTextFile(RUNTIME_LOCK),
    ],
    [modules.lock ?? "", RUNTIME_LOCK],
  );
  const entryPath = join(buildDir, "main.ts");
  const source = entrySource(build, BINARY_MAIN_URL, project.dir);
  const files: BuildFile[] = [
    ...[...project.files, ...byteImports].map((f) => ({
      path: join(copyDir, f),
      from: { copy: join(project.dir, f) },
    })),
    ...generated.map(([rel, from]) => ({ path: join(copyDir, rel), from })),
    { path: entryPath, from: { text: source } },
    { path: importMapPath, from: { text: JSON.stringify(importMap, null, 2) } },
    { path: lockPath, from: { text: lockText } },
    {
      path: configPath,
      from: {
        text: JSON.stringify(
          handlerCheckConfig(
            modules.compilerOptions,
            "./import_map.json",
            "./deno.lock",
          ),
          null,
          2,
        ),
      },
    },
  ];
  // Replicas are the binary itself (`--cortex-replica`): nothing else to embed.
  const includes = build.files.map((f) => join(copyDir, f));
  const compileArgs = [
    "compile",
    "--config",
    configPath,
    ...(opts.noCheck ? ["--no-check"] : []),
    ...flags,
    ...(opts.target ? ["--target", opts.target] : []),
    ...includes.flatMap((path) => ["--include", path]),
    "--output",
    output,
    entryPath,
  ];
  const runFlags = runPermissionFlags(flags, buildDir);
  return {
    project,
    output,
    buildDir,
    entryPath,
    entrySource: source,
    files,
    includes,
    byteImports,
    flags,
    runFlags,
    descriptorsJson,
    compileArgs,
    runArgs: [
      "run",
      ...moduleFlags({ importMap: importMapPath, lock: lockPath }),
      ...runFlags,
      entryPath,
    ],
    build,
  };
}
