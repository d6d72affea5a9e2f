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

/** The target triple of this machine, as denort archives are named. */
export function hostTarget(): string {
  return Deno.build.target;
}

/** Where `deno compile` caches the base binary of `target` under `denoDir`. */
export function cachedDenortPath(
  denoDir: string,
  target = hostTarget(),
): string {
  return join(
    denoDir,
    "dl",
    "release",
    `v${Deno.version.deno}`,
    `denort-${target}.zip`,
  );
}

// deno compile says "Setting up base binary" before the download error, and
// "Could not find denort at" when DENORT_BIN names a missing file.
const DOWNLOAD_FAILURE =
  /Setting up base binary|denort-[\w-]+\.zip|Could not find denort/;

/** Whether `stderr` of `deno compile` reports a base binary it could not get. */
export function isDenortFailure(stderr: string): boolean {
  return DOWNLOAD_FAILURE.test(stderr);
}

function strip(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** The short explanation of a denort failure. */
export function denortMessage(stderr: string, target = hostTarget()): string {
  const cause = strip(stderr).split("\n").map((l) => l.trim())
    .find((l) =>
      /dns error|Could not find denort|error sending request|os error/.test(l)
    );
  return [
    `Cannot compile: deno compile needs its base binary "denort-${target}.zip" for Deno ${Deno.version.deno} ` +
    `and could not get it${cause ? ` (${cause.replace(/^\d+: /, "")})` : ""}`,
    `Provide it with DENORT_BIN=/path/to/denort (the binary inside denort-${target}.zip of Deno ${Deno.version.deno}),`,
    `or put the zip at $DENO_DIR/dl/release/v${Deno.version.deno}/denort-${target}.zip`,
  ].join("\n");
}

/**
 * Runs `deno compile` with the plan's arguments (the build directory must be
 * written first).
 *
 * @param plan The plan.
 * @param denoExec The `deno` executable (default: the one running this code).
 * @throws {DenortUnavailableError} When the base binary cannot be had.
 * @throws {DenoCompileError} On any other failure.
 */
export async function runDenoCompile(
  plan: CompilePlan,
  denoExec = Deno.execPath(),
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
  const target = plan.compileArgs[plan.compileArgs.indexOf("--target") + 1];
  if (isDenortFailure(stderr)) {
    throw new DenortUnavailableError(
      denortMessage(
        stderr,
        plan.compileArgs.includes("--target") ? target : undefined,
      ),
    );
  }
  const lines = strip(stderr).trim().split("\n").filter((l) =>
    !/^\s*(\d+: <unknown>|Stack backtrace:)/.test(l)
  );
  throw new DenoCompileError(
    `Cannot compile "${plan.project.dir}": deno compile failed:\n${
      lines.join("\n")
    }`,
    stderr,
  );
}
