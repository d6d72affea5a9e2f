/**
 * Makes relative paths in a handler resolve against its project directory
 * inside a compiled binary.
 *
 * A compiled binary serves the project from its embedded file system, and
 * the process cannot change its working directory into it (Deno makes
 * `chdir` into the embedded tree a no-op), so `Deno.readTextFile("x.json")`
 * would resolve against wherever the binary was started. `cortex compile`
 * copies this file into the build and imports it first in each replica,
 * before the handler module: it rewrites relative path arguments of the
 * `Deno` file APIs to absolute paths under the project directory, and makes
 * `Deno.cwd()` report that directory. Under `deno run` the working directory
 * already is the project directory, so the rewrite changes nothing.
 *
 * The module is self-contained (no imports): replicas may import only files
 * of their project.
 *
 * @module
 */

/** `Deno` functions whose first argument is a path. */
const ONE_PATH = [
  "readFile",
  "readTextFile",
  "open",
  "create",
  "stat",
  "lstat",
  "readDir",
  "realPath",
  "readLink",
  "writeFile",
  "writeTextFile",
  "mkdir",
  "remove",
  "truncate",
  "chmod",
  "chown",
  "utime",
  "makeTempDir",
  "makeTempFile",
];

/** `Deno` functions whose first two arguments are paths. */
const TWO_PATHS = ["copyFile", "rename", "link", "symlink"];

/** Normalises a POSIX path: removes `.` and `..` segments and double slashes. */
export function normalisePath(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

/**
 * Resolves `path` against `dir` when it is a relative string path; returns
 * absolute paths, URLs and non-strings unchanged. `symlink` targets are
 * rewritten too, which keeps them valid for the process.
 */
export function resolveIn(dir: string, path: unknown): unknown {
  if (typeof path !== "string" || path === "" || path.startsWith("/")) {
    return path;
  }
  // Windows drive paths are absolute too; they never occur in the embedded tree.
  if (/^[A-Za-z]:[\\/]/.test(path)) return path;
  return normalisePath(`${dir}/${path}`);
}

/**
 * Patches the `Deno` file APIs of this worker so that relative paths resolve
 * against `dir`, and `Deno.cwd()` returns `dir`.
 *
 * @param dir Absolute path of the project directory.
 */
export function installRelativePaths(dir: string): void {
  // deno-lint-ignore no-explicit-any
  const ns = Deno as any;
  const wrap = (name: string, paths: number) => {
    for (const key of [name, `${name}Sync`]) {
      const original = ns[key];
      if (typeof original !== "function") continue;
      const patched = function (this: unknown, ...args: unknown[]) {
        for (let i = 0; i < paths && i < args.length; i++) {
          // symlink's first argument is the link target, relative to the link.
          if (!(name === "symlink" && i === 0)) {
            args[i] = resolveIn(dir, args[i]);
          }
        }
        return original.apply(this, args);
      };
      Object.defineProperty(ns, key, {
        value: patched,
        configurable: true,
        writable: true,
      });
    }
  };
  for (const name of ONE_PATH) wrap(name, 1);
  for (const name of TWO_PATHS) wrap(name, 2);
  Object.defineProperty(ns, "cwd", {
    value: () => dir,
    configurable: true,
    writable: true,
  });
}

/** The project directory: this file sits in `<project>/.cortex/`. */
function projectDirOfThisFile(): string {
  const url = new URL("../", import.meta.url);
  return decodeURIComponent(url.pathname).replace(/\/$/, "");
}

// Runs when a generated handler wrapper imports this file (in a replica),
// never in the main thread.
if (new URL(import.meta.url).pathname.endsWith("/.cortex/relative_paths.ts")) {
  installRelativePaths(projectDirOfThisFile());
}
