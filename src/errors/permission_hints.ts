/**
 * Makes permission errors inside a handler say what was denied and how to
 * allow it (which cortex.yaml key or project rule), instead of Deno's
 * "run again with --allow-..." advice that does not apply to handlers.
 *
 * @module
 */

const HINTS: Record<string, string> = {
  read:
    "handlers may read only their project's files (not dotfiles, cortex.yaml or files matched by .cortexignore) and ctx.scratchDir",
  write: "handlers may write only to ctx.scratchDir",
  net:
    'add the host to "handler.allow_net" in cortex.yaml (other APIs are reachable at http://api-<name>:8888)',
  env:
    'set variables in .env or "handler.env" in cortex.yaml and read them with Deno.env.get',
  run: "handlers may not start processes",
  ffi:
    "handlers may not load native libraries (FFI, Node addons such as onnxruntime-node): the sandbox gives replicas no ffi access, since native code escapes every other permission; use a WebAssembly build instead (onnxruntime-web)",
  sys: "handlers may not read system information",
  import: "handlers may import only their project's modules and npm packages",
};

/** A path inside Deno's npm cache: `<DENO_DIR>/npm/<registry host>/...`. */
const NPM_CACHE =
  /[/\\]npm[/\\][^/\\]+\.[^/\\]+[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)[/\\]([^/\\]+)[/\\]/;

/** The hint for a denied `kind` access to `target` (quoted as Deno does). */
function hintFor(kind: string, target: string): string {
  const npm = kind === "read" ? NPM_CACHE.exec(target) : null;
  if (npm) {
    const name = npm[1]!.replaceAll("\\", "/");
    return `it belongs to the npm package ${name}@${
      npm[2]
    }, which is not in the handler's module graph, and a replica may read only the packages of its graph: import "npm:${name}@${
      npm[2]
    }" from the handler (or map it in the project's deno.json "imports") so serve caches it at start`;
  }
  return HINTS[kind] ?? "this permission is not granted to handlers";
}

const DENIAL =
  /Requires (\w+) access to ("[^"]*"|[^,)\n]+)(?:, run again with the --allow-[\w-]+ flag| \(run again[^)]*\))?/g;

/**
 * Rewrites every Deno permission denial in `text` (an error message, a
 * stack, a library's log line that quotes one: onnxruntime-web nests it in
 * "no available backend found") with the runtime's hint instead of Deno's
 * "run again with --allow-..." advice, which does not apply to handlers.
 */
export function explainPermissionText(text: string): string {
  return text.replace(
    DENIAL,
    (_all, kind: string, target: string) =>
      `Permission denied: ${kind} access to ${target}: ${
        hintFor(kind, target)
      }`,
  );
}

/** Rewrites a NotCapable/PermissionDenied message; other errors pass through. */
export function explainPermissionError(error: unknown): unknown {
  if (
    !(error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied)
  ) {
    return error;
  }
  const match = /Requires (\w+) access to ([^,]+)/.exec(error.message);
  if (!match) return error;
  const [, kind, target] = match;
  error.message = `Permission denied: ${kind} access to ${target}: ${
    hintFor(kind!, target!)
  }`;
  return error;
}

const WRAPPED = [
  "readFile",
  "readTextFile",
  "readFileSync",
  "readTextFileSync",
  "readDir",
  "readDirSync",
  "open",
  "openSync",
  "stat",
  "statSync",
  "lstat",
  "lstatSync",
  "realPath",
  "realPathSync",
  "readLink",
  "writeFile",
  "writeTextFile",
  "writeFileSync",
  "writeTextFileSync",
  "mkdir",
  "mkdirSync",
  "remove",
  "removeSync",
  "rename",
  "copyFile",
  "create",
  "createSync",
  "makeTempDir",
  "makeTempFile",
  "connect",
  "connectTls",
  "listen",
  "resolveDns",
  "hostname",
  "loadavg",
  "osRelease",
  "systemMemoryInfo",
  "networkInterfaces",
] as const;

/** Wraps `fetch` and common `Deno.*` functions to explain denials. */
export function installPermissionHints(): void {
  const deno = Deno as unknown as Record<string, unknown>;
  for (const name of WRAPPED) {
    const fn = deno[name];
    if (typeof fn !== "function") continue;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      try {
        const out = (fn as (...a: unknown[]) => unknown).apply(this, args);
        return out instanceof Promise
          ? out.catch((e) => Promise.reject(explainPermissionError(e)))
          : out;
      } catch (error) {
        throw explainPermissionError(error);
      }
    };
    Object.defineProperty(Deno, name, { value: wrapped, configurable: true });
  }
  const CommandClass = Deno.Command;
  Object.defineProperty(Deno, "Command", {
    configurable: true,
    value: class extends CommandClass {
      override output() {
        return super.output().catch((e) =>
          Promise.reject(explainPermissionError(e))
        );
      }
      override outputSync() {
        try {
          return super.outputSync();
        } catch (e) {
          throw explainPermissionError(e);
        }
      }
      override spawn() {
        try {
          return super.spawn();
        } catch (e) {
          throw explainPermissionError(e);
        }
      }
    },
  });
}
