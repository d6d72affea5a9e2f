/**
 * Reads a project's `.env` with npm dotenv's parser (quotes, comments,
 * `export` prefix). Variables starting with `CORTEX_` are the runtime's own
 * and are rejected.
 *
 * @module
 */

// @ts-types="../vendor/dotenv/parse.d.ts"
import { parse } from "../vendor/dotenv/parse.mjs";
import { joinPath as join } from "../path/posix_path.ts";
import { IssueList } from "./config_error.ts";

/**
 * Parses `.env` text.
 *
 * @param text The file contents.
 * @param file The file name for messages.
 * @throws {ConfigError} When a variable starts with `CORTEX_`.
 */
export function parseDotenv(
  text: string,
  file: string,
): Record<string, string> {
  const vars = parse(text);
  const issues = new IssueList(file);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(vars)) {
    if (key.startsWith("CORTEX_")) {
      issues.add(
        lineOf(text, key),
        key,
        `${key} is reserved: variables starting with "CORTEX_" are set by the runtime`,
      );
    }
    out[key] = value;
  }
  issues.throwIfAny();
  return out;
}

/**
 * Reads `<dir>/.env`; a missing file gives an empty object.
 *
 * @throws {ConfigError} When a variable starts with `CORTEX_`.
 */
export async function readDotenv(dir: string): Promise<Record<string, string>> {
  const file = join(dir, ".env");
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
  return parseDotenv(text, file);
}

/** The last line that assigns `key` (the one dotenv keeps), 1-based. */
function lineOf(text: string, key: string): number {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const assigns = new RegExp(`^\\s*(?:export\\s+)?${escaped}\\s*(?:=|:\\s)`);
  const lines = text.split(/\r\n?|\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    if (assigns.test(lines[i] ?? "")) return i + 1;
  }
  return 0;
}
