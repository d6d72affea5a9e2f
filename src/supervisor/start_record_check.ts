/**
 * What a start record (src/supervisor/start_record.ts) may hold for its
 * serving process to be started ahead, before the supervisor has computed
 * the real command (src/supervisor/speculative_start.ts). That process runs
 * before anything is compared, so nothing in the record may make it run
 * other code than this runtime's `serve_main.ts` and what it imports:
 *
 * - Deno flags: only those the supervisor gives a serving process
 *   (src/supervisor/flags.ts, src/wire/prepared_files.ts), with writes and
 *   runs limited to what they always are (no `--preload`, `--import`,
 *   `--inspect`, `--v8-flags`, `--allow-all`, `--env-file`, ...);
 * - environment: only the variables the supervisor gives, with their only
 *   values (no `LD_PRELOAD`, `DENO_*`, `NODE_OPTIONS`, ...);
 * - import map: the runtime's own modules resolve as the runtime's deno.json
 *   says (no key remapping a `file:`, `node:` or `npm:` URL, nor a runtime
 *   scope of other targets).
 *
 * @module
 */

import { TOKEN_ENV } from "../control/token.ts";
import { TRACES_ENV } from "../trace/config.ts";
import { UNSTABLE_FLAGS } from "./flags.ts";

/** The runtime's root directory (`file:` URL, trailing slash). */
const RUNTIME_ROOT = new URL("../../", import.meta.url).href;

/** Where the runtime's modules live: the scopes of its imports. */
const RUNTIME_SCOPES = [`${RUNTIME_ROOT}src/`, `${RUNTIME_ROOT}mod.ts`];

/**
 * Why `denoFlags` (a record's `deno run` flags, scratch root substituted)
 * are not ones the supervisor gives a serving process; null when they are.
 */
export function denoFlagsProblem(
  denoFlags: string[],
  scratchRoot: string,
): string | null {
  const exact = new Set([
    ...UNSTABLE_FLAGS,
    "--no-config",
    "--cached-only",
    "--no-prompt",
    `--import-map=${scratchRoot}/import_map.json`,
    `--lock=${scratchRoot}/deno.lock`,
    `--allow-write=${scratchRoot}`,
    `--allow-run=${Deno.execPath()}`,
  ]);
  // Grants that let the process read, connect or see variables: its code
  // (this runtime's) does none of it before "go".
  const valued = ["--allow-read=", "--allow-net=", "--allow-env="];
  const other = denoFlags.find((f) =>
    !exact.has(f) && !valued.some((v) => f.startsWith(v) && f.length > v.length)
  );
  return other === undefined
    ? null
    : `a Deno flag the supervisor does not give a serving process: ${other}`;
}

/**
 * Why `env` is not the environment the supervisor gives a serving process
 * on top of its own (src/supervisor/supervise.ts); null when it is.
 */
export function recordEnvProblem(env: Record<string, string>): string | null {
  const allowed: Record<string, string[]> = {
    [TOKEN_ENV]: [""],
    OTEL_DENO: ["false"],
    [TRACES_ENV]: ["on", "off"],
  };
  for (const [name, value] of Object.entries(env)) {
    if (!Object.hasOwn(allowed, name)) {
      return `an environment variable the supervisor does not set: ${name}`;
    }
    if (!allowed[name]!.includes(value)) {
      return `environment variable ${name}: not a value the supervisor sets`;
    }
  }
  return null;
}

/** Whether `key` of an import map remaps a URL or a path, not a bare name. */
function urlLike(key: string): boolean {
  if (/^\.{0,2}\//.test(key)) return true;
  try {
    new URL(key);
    return true;
  } catch {
    return false;
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The runtime's deno.json imports, resolved as the supervisor does. */
function runtimeImports(): Record<string, string> {
  const config = new URL("deno.json", RUNTIME_ROOT);
  const imports = JSON.parse(Deno.readTextFileSync(config)).imports ?? {};
  const out: Record<string, string> = {};
  for (
    const [key, value] of Object.entries(imports as Record<string, string>)
  ) {
    out[key] = /^\.{0,2}\//.test(value) ? new URL(value, config).href : value;
  }
  return out;
}

/**
 * Why the import map `text` (at `base`, a `file:` URL) could make this
 * runtime's own modules load other code than the runtime's deno.json says;
 * null when it cannot. Its project part is left to the comparison after
 * "go": no project code loads before it.
 */
export function importMapProblem(text: string, base: string): string | null {
  let map: unknown;
  try {
    map = JSON.parse(text);
  } catch {
    return "its import map is not JSON";
  }
  if (!isMap(map)) return "its import map is not an object";
  const { imports = {}, scopes = {} } = map;
  if (!isMap(imports) || !isMap(scopes)) {
    return "its import map's imports or scopes are not objects";
  }
  const remapped = (section: Record<string, unknown>) =>
    Object.keys(section).find(urlLike);
  const top = remapped(imports);
  if (top !== undefined) return `its import map remaps ${top}`;
  const runtime = runtimeImports();
  const seen = new Set<string>();
  for (const [key, section] of Object.entries(scopes)) {
    // As Deno reads it: relative to the map, `.` and `..` resolved.
    let scope: string;
    try {
      scope = new URL(key, base).href;
    } catch {
      return `its import map's scope ${key} is not a URL`;
    }
    if (!isMap(section)) {
      return `its import map's scope ${key} is not an object`;
    }
    seen.add(scope);
    if (
      scope.startsWith(RUNTIME_ROOT) &&
      RUNTIME_SCOPES.some((r) => r.startsWith(scope) || scope.startsWith(r))
    ) {
      // A scope inside the runtime that applies to its modules: only the
      // runtime's own scopes, exactly its imports. (A project inside the
      // runtime's folder, as examples/ are, has a scope there that applies
      // to none of them: free, as a project's scope elsewhere.)
      const same = RUNTIME_SCOPES.includes(scope) &&
        Object.keys(section).length === Object.keys(runtime).length &&
        Object.entries(runtime).every(([k, v]) => section[k] === v);
      if (!same) return `its import map's scope ${scope} is not the runtime's`;
    } else if (RUNTIME_ROOT.startsWith(scope)) {
      // A scope holding the runtime applies to its modules too.
      const remap = remapped(section);
      if (remap !== undefined) {
        return `its import map's scope ${scope} remaps ${remap}`;
      }
    }
  }
  // Without them, the runtime's bare imports would fall back to `imports`.
  const missing = RUNTIME_SCOPES.find((scope) => !seen.has(scope));
  return missing === undefined
    ? null
    : `its import map has no scope ${missing} (the runtime's)`;
}
