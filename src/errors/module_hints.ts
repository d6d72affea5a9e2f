/**
 * Explains a handler's failed run-time import: modules are fixed when the
 * server starts (src/supervisor/modules.ts), so Deno's errors for a module
 * outside that graph ("not found in cache, --cached-only is specified",
 * "the lockfile is out of date", "not in import map") get a sentence naming
 * the specifier and saying how to declare it.
 *
 * @module
 */

/** How to declare a dependency. */
export const DECLARE_HINT =
  'import npm packages with "npm:" specifiers (import YAML from "npm:yaml@2") ' +
  'or map a bare name in the project\'s deno.json "imports", then start the server again';

const PATTERNS: [RegExp, (m: RegExpExecArray) => string][] = [
  [/npm package not found in cache: "([^"]+)"/, (m) => `npm:${m[1]}`],
  [/for package "([^"]+)"/, (m) => `npm:${m[1]}`],
  [
    /The lockfile is out of date[\s\S]*?\+\s*"((?:npm|jsr):[^"]+)"/,
    (m) => m[1]!,
  ],
  [/Import "([^"]+)" not a dependency and not in import map/, (m) => m[1]!],
  [/Requires import access to "([^"]+)"/, (m) => m[1]!],
];

/**
 * A sentence naming the module a failed import asked for and how to declare
 * it, or null when `error` is not such a failure.
 *
 * @example
 * ```ts
 * import { moduleImportHint } from "./module_hints.ts";
 * moduleImportHint(new TypeError('npm package not found in cache: "x"'));
 * // 'Cannot import "npm:x" at run time: modules are fixed when ...'
 * ```
 */
export function moduleImportHint(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const message = String(error.message);
  for (const [pattern, specifier] of PATTERNS) {
    const match = pattern.exec(message);
    if (match) {
      return `Cannot import "${
        specifier(match)
      }" at run time: modules are fixed when the server starts; ${DECLARE_HINT}`;
    }
  }
  return null;
}
