/**
 * Runs `deno compile` for a plan, and explains the one failure these
 * machines are known for: the base binary (denort) cannot be downloaded.
 *
 * @module
 */

import { join } from "node:path";
import type { CompilePlan } from "./plan.ts";

/** Thrown when `deno compile` has no base binary and cannot download one. */
export class DenortUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DenortUnavailableError";
  }
}

/** Thrown when `deno compile` fails for another reason; carries its stderr. */
export class DenoCompileError extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(message);
    this.name = "DenoCompileError";
    this.stderr = stderr;
  }
}

/** Where `deno compile` caches the base binary of `target` under `denoDir`. */
export function cachedDenortPath(
  denoDir: string,
  target: string = Deno.build.target,
): string {
  return join(
    denoDir,
    "dl",
    "release",
    `v${Deno.version.deno}`,
    `denort-${target}.zip`,
  );
}

// deno compile says "Setting up base binary" before a download error, and
// "Could not find denort at" when DENORT_BIN names a missing file.
const DENORT_FAILURE = /Setting up base binary|Could not find denort/;

/** Whether `stderr` of `deno compile` reports a base binary it could not get. */
export function isDenortFailure(stderr: string): boolean {
  return DENORT_FAILURE.test(stderr);
}

function strip(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/**
 * The short explanation of a denort failure: what is missing and the two
 * ways to provide it.
 *
 * @param stderr What `deno compile` wrote.
 * @param target The target triple compiled for.
 */
export function denortMessage(
  stderr: string,
  target: string = Deno.build.target,
): string {
  // The innermost cause is the last numbered line ("4: failed to lookup ...").
  const causes = strip(stderr).split("\n")
    .map((line) => /^\s*\d+: (.+)$/.exec(line)?.[1])
    .filter((line): line is string =>
      line !== undefined && line !== "<unknown>"
    );
  const cause = causes.at(-1);
  const version = Deno.version.deno;
  return [
    `Cannot compile: deno compile needs its base binary "denort-${target}.zip" for Deno ${version} ` +
    `and could not get it${cause ? ` (${cause})` : ""}`,
    `Provide it with DENORT_BIN=/path/to/denort (the binary inside denort-${target}.zip of Deno ${version}),`,
    `or put the zip at $DENO_DIR/dl/release/v${version}/denort-${target}.zip`,
  ].join("\n");
}

/**
 * Runs `deno compile` with the plan's arguments (write the build directory
 * first).
 *
 * @param plan The plan.
 * @param denoExec The `deno` executable (default: the one running this code).
 * @throws {DenortUnavailableError} When the base binary cannot be had.
 * @throws {DenoCompileError} On any other failure.
 */
export async function runDenoCompile(
  plan: CompilePlan,
  denoExec: string = Deno.execPath(),
): Promise<void> {
  const out = await new Deno.Command(denoExec, {
    args: plan.compileArgs,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return;
  const stderr = new TextDecoder().decode(out.stderr);
  if (isDenortFailure(stderr)) {
    const at = plan.compileArgs.indexOf("--target");
    throw new DenortUnavailableError(
      denortMessage(stderr, at >= 0 ? plan.compileArgs[at + 1] : undefined),
    );
  }
  const lines = strip(stderr).trim().split("\n")
    .filter((line) => !/^\s*(\d+: <unknown>|Stack backtrace:)\s*$/.test(line));
  throw new DenoCompileError(
    `Cannot compile "${plan.project.dir}": deno compile failed:\n${
      lines.join("\n")
    }`,
    stderr,
  );
}
