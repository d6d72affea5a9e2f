/**
 * Modules are fixed when the server starts (issue 11, item 4). Before the
 * serving process starts, the supervisor resolves and caches the module
 * graph of every handler, with the project's own lockfile, and the serving
 * process then runs with `--cached-only`: a module a handler imports at run
 * time that is not in that graph (nor already in Deno's cache) fails at
 * once, with no network request, and nothing is written to the runtime's
 * `deno.lock`.
 *
 * How Deno 2.9.6 resolves a handler's imports (measured): the serving
 * process has one import map for every module it loads, Workers included, so
 * a project's own `deno.json` is never consulted (a bare name from it fails
 * "not a dependency and not in import map"), while the runtime's `deno.json`
 * is found from the working directory and its "imports" (e.g. "yaml") leak
 * to handlers; a dynamic `import("npm:" + name)` in a Worker downloads the
 * package (and its registry entry) and writes it into the runtime's
 * `deno.lock`. So the serving process runs with `--no-config` and an import
 * map written here: the runtime's imports scoped to the runtime's modules,
 * the project's `deno.json` "imports" and "scopes" scoped to the project, and
 * at the top only what handlers get from the runtime ("cortex", and the
 * protobuf runtime that generated gRPC code imports).
 *
 * The lockfile of the serving process is the runtime's `deno.lock` merged
 * with the project's (`<project>/deno.lock`, or the path its `deno.json`
 * "lock" names), written to the scratch root, so both keep the versions they
 * pinned, and whatever the serving process adds is written there. With
 * `--frozen` it would also refuse a package that is in Deno's cache but in
 * neither lockfile; see `moduleFlags` in src/wire/prepared_files.ts for why
 * that is off while replicas share one process.
 *
 * @module
 */

import {
  filePath as fileURLToPath,
  fileUrl as pathToFileURL,
  joinPath as join,
} from "../path/posix_path.ts";
import type { Project } from "../config/resolved_config.ts";
import { DECLARE_HINT } from "../errors/module_hints.ts";
import { type PackageDirs, RAW_IMPORTS_FLAG } from "../wire/prepared_files.ts";
import { digestFiles, type PrepareCache, prepareKey } from "./prepare_cache.ts";

export { DECLARE_HINT };

/** The runtime's deno.json: its "imports" resolve the runtime's modules. */
export const RUNTIME_CONFIG = fileURLToPath(
  new URL("../../deno.json", import.meta.url),
);
/** The runtime's deno.lock: never written by serving. */
export const RUNTIME_LOCK = fileURLToPath(
  new URL("../../deno.lock", import.meta.url),
);
/** Where the runtime's modules live: the scopes of its imports. */
const RUNTIME_SCOPES = [
  new URL("../", import.meta.url).href,
  new URL("../../mod.ts", import.meta.url).href,
];
/** Stands in for "cortex" while a handler graph is cached (see below). */
const CORTEX_STUB = new URL("./handler_graph_cortex.ts", import.meta.url).href;

/**
 * Bare names a handler may import without declaring them: the runtime's
 * `mod.ts`, and the protobuf runtime that `cortex gen` code imports.
 */
export const HANDLER_IMPORTS = [
  "cortex",
  "@bufbuild/protobuf",
  "@bufbuild/protobuf/",
];

/** An import map as Deno reads it. */
export interface ImportMap {
  imports: Record<string, string>;
  scopes: Record<string, Record<string, string>>;
}

/** The files the serving process needs for its modules. */
export interface ModuleFiles {
  /** The import map of the serving process. */
  importMap: string;
  /** The lockfile of the serving process. */
  lock: string;
  /** True when the steps were skipped: the prepare cache had the result. */
  fromCache?: boolean;
  /**
   * A JSON file: each handler path (as in cortex.yaml) → what its module
   * graph needs to read ({@linkcode readPathsOf}): the folders, in Deno's
   * npm cache, of its npm packages (onnxruntime-web reads its own `.wasm`
   * with `node:fs`) and the files it byte-imports. Replicas of that handler
   * (only) may read them, read-only.
   */
  packages?: string;
}

/** A handler's module graph does not resolve (exit code 2, like bad config). */
export class ModuleGraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModuleGraphError";
  }
}

const RELATIVE = /^\.{0,2}\//;

/** Resolves the keys and values of an import map section against `base`. */
function absolute(
  section: unknown,
  base: URL,
  where: string,
): Record<string, string> {
  if (section === undefined) return {};
  if (typeof section !== "object" || section === null) {
    throw new ModuleGraphError(`${where} must be an object`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(section)) {
    if (typeof value !== "string") {
      throw new ModuleGraphError(
        `${where}: "${key}" must map to a string, not ${JSON.stringify(value)}`,
      );
    }
    const k = RELATIVE.test(key) ? new URL(key, base).href : key;
    out[k] = RELATIVE.test(value) ? new URL(value, base).href : value;
  }
  return out;
}

/** What a project's deno.json says about modules. */
export interface ProjectModules {
  imports: Record<string, string>;
  scopes: Record<string, Record<string, string>>;
  /** The project's lockfile, or null when its deno.json has `"lock": false`. */
  lock: string | null;
  /** `"lock": { "frozen": true }`. */
  frozen: boolean;
  /**
   * The "compilerOptions" of the project's deno.json ({} without one: Deno's
   * defaults). `serve` and `compile` type-check handlers with exactly these
   * ({@linkcode handlerCheckConfig}).
   */
  compilerOptions: Record<string, unknown>;
}

async function readJson(path: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModuleGraphError(
      `${path} is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/**
 * Writes `path` through a new file renamed over it: a serving process
 * started ahead from the last start's record (src/supervisor/
 * speculative_start.ts) may be reading the previous version as Deno starts,
 * and must see all of one version, never a half-written file.
 */
async function writeReplacing(path: string, text: string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

/**
 * Reads `<dir>/deno.json`: "imports" and "scopes" (or the file "importMap"
 * names), and "lock". Other settings of it do not apply to handlers.
 */
export async function readProjectModules(
  dir: string,
): Promise<ProjectModules> {
  const file = join(dir, "deno.json");
  const config = (await readJson(file)) as Record<string, unknown> | undefined;
  const base = pathToFileURL(file);
  let map: Record<string, unknown> = config ?? {};
  let mapFile = file;
  let mapBase = base;
  if (typeof config?.importMap === "string") {
    mapBase = new URL(config.importMap, base);
    mapFile = fileURLToPath(mapBase);
    const read = await readJson(mapFile);
    if (read === undefined) {
      throw new ModuleGraphError(
        `${file}: "importMap" names ${mapFile}, which does not exist`,
      );
    }
    map = read as Record<string, unknown>;
  }
  const scopes: ProjectModules["scopes"] = {};
  const rawScopes = map.scopes;
  if (rawScopes !== undefined) {
    if (typeof rawScopes !== "object" || rawScopes === null) {
      throw new ModuleGraphError(`${mapFile}: "scopes" must be an object`);
    }
    for (const [scope, section] of Object.entries(rawScopes)) {
      const key = RELATIVE.test(scope) ? new URL(scope, mapBase).href : scope;
      scopes[key] = absolute(section, mapBase, `${mapFile}: scopes."${scope}"`);
    }
  }
  const lock = config?.lock;
  const lockPath = lock === false
    ? null
    : typeof lock === "string"
    ? fileURLToPath(new URL(lock, base))
    : typeof lock === "object" && lock !== null &&
        typeof (lock as { path?: unknown }).path === "string"
    ? fileURLToPath(new URL((lock as { path: string }).path, base))
    : join(dir, "deno.lock");
  const options = config?.compilerOptions;
  if (
    options !== undefined &&
    (typeof options !== "object" || options === null || Array.isArray(options))
  ) {
    throw new ModuleGraphError(`${file}: "compilerOptions" must be an object`);
  }
  return {
    imports: absolute(map.imports, mapBase, `${mapFile}: "imports"`),
    scopes,
    compilerOptions: withAbsoluteTypes(
      (options ?? {}) as Record<string, unknown>,
      base,
    ),
    lock: lockPath,
    frozen: typeof lock === "object" && lock !== null &&
      (lock as { frozen?: unknown }).frozen === true,
  };
}

/**
 * `compilerOptions` with its relative "types" entries resolved against the
 * project's deno.json: the check runs with a config file in the scratch
 * root, against which Deno would resolve them.
 */
function withAbsoluteTypes(
  options: Record<string, unknown>,
  base: URL,
): Record<string, unknown> {
  if (!Array.isArray(options.types)) return options;
  const types = options.types.map((t) =>
    typeof t === "string" && RELATIVE.test(t)
      ? fileURLToPath(new URL(t, base))
      : t
  );
  return { ...options, types };
}

/**
 * The local files the "types" of `compilerOptions` name (absolute paths
 * and `file:` URLs, as {@linkcode readProjectModules} leaves them): the
 * type check reads them, though they are in no module graph.
 */
export function localTypeFiles(
  compilerOptions: Record<string, unknown>,
): string[] {
  const types = Array.isArray(compilerOptions.types)
    ? compilerOptions.types
    : [];
  return types.flatMap((t) =>
    typeof t !== "string"
      ? []
      : t.startsWith("file:")
      ? [fileURLToPath(t)]
      : t.startsWith("/")
      ? [t]
      : []
  );
}

/**
 * The deno.json `serve` and `compile` type-check handlers with: the
 * project's own "compilerOptions" (never the runtime's stricter ones), the
 * import map and the lockfile given (paths relative to the written file).
 * One rule for both, so a handler that serves also compiles.
 */
export function handlerCheckConfig(
  compilerOptions: Record<string, unknown>,
  importMap: string,
  lock: string,
): Record<string, unknown> {
  return { compilerOptions, nodeModulesDir: "none", importMap, lock };
}

/** The runtime's imports, absolute. */
export async function runtimeImports(): Promise<Record<string, string>> {
  const config = await readJson(RUNTIME_CONFIG) as { imports?: unknown };
  return absolute(
    config?.imports,
    pathToFileURL(RUNTIME_CONFIG),
    `${RUNTIME_CONFIG}: "imports"`,
  );
}

/**
 * The import map of the serving process: the runtime's imports for its own
 * modules, the project's for the project, {@linkcode HANDLER_IMPORTS} for
 * everyone.
 *
 * @param runtime The runtime's imports (absolute).
 * @param projectDir The project directory.
 * @param project The project's imports and scopes.
 * @param cortex What "cortex" resolves to for handlers (the runtime's mod.ts,
 *   or a stand-in with the same exports while caching).
 */
export function serveImportMap(
  runtime: Record<string, string>,
  projectDir: string,
  project: Pick<ProjectModules, "imports" | "scopes">,
  cortex: string = runtime.cortex!,
): ImportMap {
  const imports: Record<string, string> = {};
  for (const name of HANDLER_IMPORTS) {
    const target = name === "cortex" ? cortex : runtime[name];
    if (target !== undefined) imports[name] = target;
  }
  const scopes: ImportMap["scopes"] = { ...project.scopes };
  for (const scope of RUNTIME_SCOPES) scopes[scope] = { ...runtime };
  scopes[pathToFileURL(projectDir).href.replace(/\/?$/, "/")] = {
    ...project.imports,
  };
  return { imports, scopes };
}

// --- Lockfiles -------------------------------------------------------------

interface Lock {
  version: string;
  specifiers?: Record<string, string>;
  jsr?: Record<string, unknown>;
  npm?: Record<string, NpmEntry>;
  redirects?: Record<string, string>;
  remote?: Record<string, string>;
  workspace?: unknown;
}

interface NpmEntry {
  dependencies?: string[];
  optionalDependencies?: string[];
  optionalPeers?: string[];
  [key: string]: unknown;
}

const DEP_LISTS = [
  "dependencies",
  "optionalDependencies",
  "optionalPeers",
] as const;

/** "name@version" → "name" (scoped names keep their leading "@"). */
function nameOf(id: string): string {
  return id.slice(0, id.indexOf("@", 1));
}

/** Versions of each package name among `ids`. */
function versionsByName(ids: Iterable<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const id of ids) {
    const name = nameOf(id);
    out.set(name, [...(out.get(name) ?? []), id]);
  }
  return out;
}

/**
 * Rewrites the dependency references of `npm` entries with `rewrite`. A
 * lockfile v5 writes a dependency as "name" when the lockfile has one
 * version of it, else as "name@version" (aliases as "alias@npm:...").
 */
function mapDeps(
  npm: Record<string, NpmEntry>,
  rewrite: (dep: string) => string,
): Record<string, NpmEntry> {
  const out: Record<string, NpmEntry> = {};
  for (const [id, entry] of Object.entries(npm)) {
    const copy: NpmEntry = { ...entry };
    for (const list of DEP_LISTS) {
      if (Array.isArray(entry[list])) copy[list] = entry[list]!.map(rewrite);
    }
    out[id] = copy;
  }
  return out;
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/**
 * Merges lockfiles (version 5) into one, earlier ones first on conflict:
 * every specifier, npm package, jsr package and remote module of each. The
 * "workspace" section is dropped (the serving process runs `--no-config`).
 *
 * @param texts Lockfile texts; null for a lockfile that does not exist.
 * @param names Their paths, for error messages.
 * @returns The merged lockfile text, formatted as Deno writes it.
 */
export function mergeLocks(
  texts: (string | null)[],
  names: string[] = [],
): string {
  const merged: Required<Omit<Lock, "workspace" | "version">> = {
    specifiers: {},
    jsr: {},
    npm: {},
    redirects: {},
    remote: {},
  };
  texts.forEach((text, i) => {
    if (text === null) return;
    let lock: Lock;
    try {
      lock = JSON.parse(text);
    } catch (error) {
      throw new ModuleGraphError(
        `${names[i] ?? "a lockfile"} is not valid JSON: ${
          (error as Error).message
        }`,
      );
    }
    if (lock.version !== "5") {
      throw new ModuleGraphError(
        `${
          names[i] ?? "a lockfile"
        } has version ${lock.version}; this runtime reads version 5 (Deno 2.3 and later): run "deno install" in the project to upgrade it`,
      );
    }
    // Short references are only meaningful inside their own lockfile.
    const npm = lock.npm ?? {};
    const own = versionsByName(Object.keys(npm));
    const full = mapDeps(npm, (dep) => {
      if (dep.includes("@npm:") || dep.indexOf("@", 1) > 0) return dep;
      const versions = own.get(dep);
      return versions?.length === 1 ? versions[0]! : dep;
    });
    for (
      const section of ["specifiers", "jsr", "redirects", "remote"] as const
    ) {
      merged[section] = { ...(lock[section] ?? {}), ...merged[section] } as
        & Record<string, string>
        & Record<string, unknown>;
    }
    merged.npm = { ...full, ...merged.npm };
  });
  const all = versionsByName(Object.keys(merged.npm));
  const npm = mapDeps(merged.npm, (dep) => {
    if (dep.includes("@npm:") || dep.indexOf("@", 1) <= 0) return dep;
    return all.get(nameOf(dep))?.length === 1 ? nameOf(dep) : dep;
  });
  const out: Lock = { version: "5" };
  if (Object.keys(merged.specifiers).length) {
    out.specifiers = sorted(merged.specifiers);
  }
  if (Object.keys(merged.jsr).length) out.jsr = sorted(merged.jsr);
  if (Object.keys(npm).length) out.npm = sorted(npm);
  if (Object.keys(merged.redirects).length) {
    out.redirects = sorted(merged.redirects);
  }
  if (Object.keys(merged.remote).length) out.remote = sorted(merged.remote);
  return JSON.stringify(out, null, 2) + "\n";
}

// --- The cache step --------------------------------------------------------

function strip(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** Deno's error without its backtrace and `deno add` advice. */
export function cacheErrorText(stderr: string): string {
  const lines = strip(stderr).split("\n");
  const end = lines.findIndex((line) => /^\s*Stack backtrace:/.test(line));
  return (end === -1 ? lines : lines.slice(0, end))
    .filter((line) => !/^\s*hint: .*deno add/.test(line))
    .map((line) => line.replace(/^error: /, ""))
    .join("\n")
    .trim();
}

/** Options of {@linkcode prepareModules}. */
export interface PrepareOptions {
  /** Skip the type check (`serve --no-check`). */
  noCheck?: boolean;
  /** Only this API's handler (`serve --api`). */
  onlyApi?: string;
  /** The `deno` executable (default: the one running this code). */
  deno?: string;
  /**
   * Where results are kept between starts (src/supervisor/prepare_cache.ts);
   * without one every step runs.
   */
  cache?: PrepareCache;
}

/**
 * Resolves and caches every handler's module graph (downloading what is
 * missing, recording it in the project's lockfile), then writes the import
 * map and the lockfile of the serving process into `scratchRoot`.
 *
 * @throws {ModuleGraphError} When a module does not resolve or download:
 *   the message has Deno's error, which names the importing file, the line
 *   and the specifier.
 */
export async function prepareModules(
  project: Project,
  scratchRoot: string,
  opts: PrepareOptions = {},
): Promise<ModuleFiles> {
  const runtime = await runtimeImports();
  const modules = await readProjectModules(project.dir);
  const apis = project.apis.filter((a) =>
    !opts.onlyApi || a.name === opts.onlyApi
  );
  const handlerPaths = [...new Set(apis.map((a) => a.handler.path))];
  const handlers = handlerPaths.map((path) => join(project.dir, path));
  const projectLock = modules.lock ?? join(scratchRoot, "project.lock");
  const readLock = (path: string) =>
    Deno.readTextFile(path).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    });
  // What the steps' results depend on besides the graphs' files (which the
  // entry lists): read again after the steps, which may add to the lockfile.
  const cacheKey = async () =>
    prepareKey({
      flags: [RAW_IMPORTS_FLAG],
      dir: project.dir,
      handlers: handlerPaths,
      modules,
      lock: modules.lock === null ? null : await readLock(modules.lock),
      runtime,
      runtimeLock: await readLock(RUNTIME_LOCK),
    });
  // Without a lockfile of its own ("lock": false) the packages the cache
  // step resolves are recorded only in this start's scratch lockfile, which
  // an entry does not hold: a hit would leave them out of the replicas'
  // lockfile, and --frozen replicas would refuse them.
  const cache = handlers.length > 0 && modules.lock !== null
    ? opts.cache ?? null
    : null;
  const hit = cache ? await cache.lookup(await cacheKey()) : null;
  const prepared = hit && (hit.checked || opts.noCheck) ? hit : null;

  if (!prepared) {
    await cacheStep(project, apis, handlers, runtime, modules, projectLock, {
      scratchRoot,
      deno: opts.deno,
    });
  }
  const importMap = join(scratchRoot, "import_map.json");
  await writeReplacing(
    importMap,
    JSON.stringify(serveImportMap(runtime, project.dir, modules), null, 2),
  );
  const lock = join(scratchRoot, "deno.lock");
  const lockText = mergeLocks(
    [await readLock(projectLock), await readLock(RUNTIME_LOCK)],
    [projectLock, RUNTIME_LOCK],
  );
  await writeReplacing(lock, lockText);
  const packages = join(scratchRoot, "packages.json");
  if (prepared) {
    await Deno.writeTextFile(
      packages,
      JSON.stringify(prepared.packages, null, 2),
    );
    return { importMap, lock, packages, fromCache: true };
  }

  // The files of the graphs as the check sees them, and their contents
  // before anything reads them: an entry is stored only if they are the
  // same after the check (a file edited during the start is not cached).
  const graph = cache
    ? await checkedGraphFiles(handlers, importMap, scratchRoot, lockText, opts)
      .then(({ files, remote }) => ({
        files: [
          ...new Set([...files, ...localTypeFiles(modules.compilerOptions)]),
        ].sort(),
        remote,
      }))
      .catch(() => null)
    : null;
  const before = graph ? await digestFiles(graph.files) : null;
  const checking = handlers.length > 0 && !opts.noCheck
    ? checkHandlers(apis, handlers, modules, scratchRoot, lockText, opts)
    : Promise.resolve();
  checking.catch(() => {});
  // A graph error (a byte import outside the project) is reported before a
  // type error.
  const { dirs, remote } = await graphReadPaths(
    project,
    apis,
    projectLock,
    scratchRoot,
    opts.deno,
  );
  await Deno.writeTextFile(packages, JSON.stringify(dirs, null, 2));
  await checking;
  if (cache && graph && before !== null) {
    await cache.store(await cacheKey(), {
      files: graph.files,
      cached: [
        ...new Set([...Object.values(dirs).flat(), ...remote, ...graph.remote]),
      ].sort(),
      packages: dirs,
      checked: !opts.noCheck,
    }, before);
  }
  return { importMap, lock, packages, fromCache: false };
}

/** The import map the cache step and the read-path graphs use. */
const cacheMapOf = (scratchRoot: string) =>
  join(scratchRoot, "cache_import_map.json");

/**
 * `deno cache` of the handlers' graphs: downloads what is missing, records
 * it in the project's lockfile.
 */
async function cacheStep(
  project: Project,
  apis: Project["apis"],
  handlers: string[],
  runtime: Record<string, string>,
  modules: ProjectModules,
  projectLock: string,
  opts: { scratchRoot: string; deno?: string },
): Promise<void> {
  // The graph is cached with "cortex" standing for an empty module: mod.ts
  // and what it imports belong to the runtime, whose own deno.lock has them,
  // and would otherwise be recorded in the project's lockfile.
  const cacheMap = cacheMapOf(opts.scratchRoot);
  await Deno.writeTextFile(
    cacheMap,
    JSON.stringify(serveImportMap(runtime, project.dir, modules, CORTEX_STUB)),
  );
  if (handlers.length > 0) {
    const out = await new Deno.Command(opts.deno ?? Deno.execPath(), {
      args: [
        "cache",
        "--no-config",
        RAW_IMPORTS_FLAG,
        `--import-map=${cacheMap}`,
        `--lock=${projectLock}`,
        ...(modules.frozen ? ["--frozen"] : []),
        ...handlers,
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const which = apis.map((a) => `"${a.name}" (${a.handler.path})`);
      throw new ModuleGraphError(
        `Cannot load the modules of API${which.length > 1 ? "s" : ""} ${
          which.join(", ")
        }: ${
          cacheErrorText(new TextDecoder().decode(out.stderr))
        }\nModules are resolved when the server starts: ${DECLARE_HINT}.`,
      );
    }
  }
}

/**
 * Each handler graph's read paths ({@linkcode readPathsOf}) and the remote
 * modules it loads from Deno's cache, after the cache step.
 */
async function graphReadPaths(
  project: Project,
  apis: Project["apis"],
  projectLock: string,
  scratchRoot: string,
  deno?: string,
): Promise<{ dirs: PackageDirs; remote: string[] }> {
  const cacheMap = cacheMapOf(scratchRoot);
  const dirs: PackageDirs = {};
  const remote: string[] = [];
  await Promise.all(
    [...new Set(apis.map((a) => a.handler.path))].map(async (path) => {
      const info = await graphInfo(
        join(project.dir, path),
        [`--import-map=${cacheMap}`, `--lock=${projectLock}`],
        deno,
      );
      const outside = byteImportsOutside(project.dir, byteImportedFiles(info));
      if (outside.length > 0) {
        throw new ModuleGraphError(outsideMessage(path, outside));
      }
      dirs[path] = readPathsOf(info);
      remote.push(...graphFiles(info).remote);
    }),
  );
  return { dirs, remote };
}

/**
 * The local files of a module graph (code and byte imports), and the files
 * in Deno's cache that hold its remote modules.
 */
export function graphFiles(
  info: GraphInfo,
): { files: string[]; remote: string[] } {
  const files: string[] = [];
  const remote: string[] = [];
  for (const m of info.modules ?? []) {
    if (typeof m.local !== "string" || m.local === "") continue;
    if (m.specifier?.startsWith("file:")) files.push(m.local);
    else if (/^(https?|jsr):/.test(m.specifier ?? "")) remote.push(m.local);
  }
  return { files, remote };
}

/**
 * The files of each handler's graph as the type check resolves it (the
 * serving process's import map, so "cortex" is the runtime's mod.ts and
 * what it imports), for the prepare cache's digest.
 */
async function checkedGraphFiles(
  handlers: string[],
  importMap: string,
  scratchRoot: string,
  lockText: string,
  { deno }: { deno?: string },
): Promise<{ files: string[]; remote: string[] }> {
  // A copy of the lockfile: nothing here may change what replicas load.
  const lock = join(scratchRoot, "graph.lock");
  await writeReplacing(lock, lockText);
  const graphs = await Promise.all(
    handlers.map(async (handler) =>
      graphFiles(
        await graphInfo(
          handler,
          [`--import-map=${importMap}`, `--lock=${lock}`],
          deno,
        ),
      )
    ),
  );
  return {
    files: [...new Set(graphs.flatMap((g) => g.files))].sort(),
    remote: [...new Set(graphs.flatMap((g) => g.remote))].sort(),
  };
}

/**
 * Type-checks the handlers as `cortex compile` does (same compiler options,
 * {@linkcode handlerCheckConfig}), with the serving process's import map and
 * a copy of its lockfile (a check must not change what replicas load).
 *
 * @throws {ModuleGraphError} With Deno's diagnostics and the rule.
 */
async function checkHandlers(
  apis: Project["apis"],
  handlers: string[],
  modules: ProjectModules,
  scratchRoot: string,
  lockText: string,
  opts: PrepareOptions,
): Promise<void> {
  const config = join(scratchRoot, "check.json");
  await Deno.writeTextFile(join(scratchRoot, "check.lock"), lockText);
  await Deno.writeTextFile(
    config,
    JSON.stringify(
      handlerCheckConfig(
        modules.compilerOptions,
        "./import_map.json",
        "./check.lock",
      ),
    ),
  );
  const out = await new Deno.Command(opts.deno ?? Deno.execPath(), {
    args: [
      "check",
      `--config=${config}`,
      RAW_IMPORTS_FLAG,
      "--cached-only",
      ...handlers,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return;
  const which = apis.map((a) => `"${a.name}" (${a.handler.path})`);
  throw new ModuleGraphError(
    `Type check failed for API${which.length > 1 ? "s" : ""} ${
      which.join(", ")
    }: ${
      cacheErrorText(new TextDecoder().decode(out.stderr))
        .replace(/\n*info: The program failed type-checking[^]*$/, "")
    }\n${CHECK_RULE}`,
  );
}

/** How handlers are type-checked, for error messages and docs. */
export const CHECK_RULE =
  `serve and compile type-check handlers alike, with the "compilerOptions" of the project's deno.json (Deno's defaults without one): fix the errors, relax the options there, or skip the check with serve --no-check / compile --no-check`;

/** What `deno info --json` says of a module graph (the parts read here). */
export interface GraphInfo {
  modules?: {
    specifier?: string;
    local?: string;
    dependencies?: { code?: { specifier?: string }; assertionType?: string }[];
  }[];
  npmPackages?: Record<string, { localPath?: unknown }>;
}

/**
 * The local files a module graph imports with `with { type: "bytes" }` or
 * `{ type: "text" }`: Deno loads them with the importer's read permission,
 * so a replica needs a grant for each, and `cortex compile` must embed them.
 */
export function byteImportedFiles(info: GraphInfo): string[] {
  const raw = new Set<string>();
  for (const module of info.modules ?? []) {
    for (const dep of module.dependencies ?? []) {
      const spec = dep.code?.specifier;
      if (
        (dep.assertionType === "bytes" || dep.assertionType === "text") &&
        spec?.startsWith("file:")
      ) raw.add(spec);
    }
  }
  return (info.modules ?? [])
    .filter((m) => raw.has(m.specifier ?? "") && typeof m.local === "string")
    .map((m) => m.local!)
    .sort();
}

/**
 * The byte-imported files that are not inside the project directory. A
 * replica is granted each file its handler byte-imports, so a file outside
 * the project would hand the replica a grant (of `/etc/passwd`, say) that
 * no project rule allows; `cortex compile` could not embed it either.
 */
export function byteImportsOutside(
  projectDir: string,
  files: string[],
): string[] {
  const dir = projectDir.replace(/\/?$/, "/");
  return files.filter((f) => !f.startsWith(dir));
}

/** The error for byte imports from outside the project. */
function outsideMessage(handler: string, files: string[]): string {
  return `${handler} byte-imports ${
    files.map((f) => `"${f}"`).join(", ")
  } from outside the project: a handler may byte-import only files inside its project (move the file into the project)`;
}

/**
 * What a module graph reads from disk besides its code: the folders of its
 * npm packages in Deno's cache, and its {@linkcode byteImportedFiles}.
 */
export function readPathsOf(info: GraphInfo): string[] {
  const dirs = Object.values(info.npmPackages ?? {})
    .map((p) => p.localPath)
    .filter((p): p is string => typeof p === "string" && p !== "");
  return [...new Set([...dirs, ...byteImportedFiles(info)])].sort();
}

/** `deno info --json` of `entry`, with raw imports on. */
export async function graphInfo(
  entry: string,
  flags: string[],
  deno: string = Deno.execPath(),
): Promise<GraphInfo> {
  const out = await new Deno.Command(deno, {
    args: ["info", "--json", "--no-config", RAW_IMPORTS_FLAG, ...flags, entry],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new ModuleGraphError(
      `Cannot read the module graph of ${entry}: ${
        cacheErrorText(new TextDecoder().decode(out.stderr))
      }`,
    );
  }
  return JSON.parse(new TextDecoder().decode(out.stdout)) as GraphInfo;
}

/**
 * The files each handler of `project` byte-imports (absolute paths), read
 * from its module graph resolved as `serve` resolves it (the project's
 * import map and a copy of its lockfile, so nothing in the project is
 * written). `cortex compile` embeds them.
 *
 * @returns Handler path (as in cortex.yaml) → its byte-imported files.
 */
export async function handlerByteImports(
  project: Project,
  deno: string = Deno.execPath(),
): Promise<Record<string, string[]>> {
  const modules = await readProjectModules(project.dir);
  const tmp = await Deno.makeTempDir({ prefix: "cortex-graph-" });
  try {
    const map = join(tmp, "import_map.json");
    await Deno.writeTextFile(
      map,
      JSON.stringify(
        serveImportMap(
          await runtimeImports(),
          project.dir,
          modules,
          CORTEX_STUB,
        ),
      ),
    );
    const lock = join(tmp, "deno.lock");
    const projectLock = modules.lock === null
      ? null
      : await Deno.readTextFile(modules.lock).catch(() => null);
    await Deno.writeTextFile(lock, mergeLocks([projectLock]));
    const out: Record<string, string[]> = {};
    for (const path of new Set(project.apis.map((a) => a.handler.path))) {
      out[path] = byteImportedFiles(
        await graphInfo(join(project.dir, path), [
          `--import-map=${map}`,
          `--lock=${lock}`,
        ], deno),
      );
    }
    return out;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
