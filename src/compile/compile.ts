/**
 * `cortex compile`: plan, write the build directory, run `deno compile`.
 *
 * @module
 */

import type { Project } from "../config/resolved_config.ts";
import { writeBuild } from "./build.ts";
import { runDenoCompile } from "./deno_compile.ts";
import { type CompileOptions, type CompilePlan, planCompile } from "./plan.ts";

/** Options of {@linkcode compileProject}. */
export interface CompileProjectOptions
  extends Omit<CompileOptions, "buildDir"> {
  /** Build directory (default: a new temporary directory, removed afterwards). */
  buildDir?: string;
  /** Keep the build directory after compiling. */
  keepBuild?: boolean;
}

/**
 * Compiles `project` into one executable at `opts.output`.
 *
 * @param project The loaded project.
 * @param opts Output, target, host, scratch root and build directory.
 * @returns The plan that was compiled.
 * @throws {DenortUnavailableError} When deno compile's base binary cannot be had.
 * @throws {CompileError} When the project cannot be compiled.
 */
export async function compileProject(
  project: Project,
  opts: CompileProjectOptions,
): Promise<CompilePlan> {
  const buildDir = opts.buildDir ??
    await Deno.makeTempDir({ prefix: "cortex-build-" });
  try {
    const plan = await planCompile(project, { ...opts, buildDir });
    await writeBuild(plan);
    await runDenoCompile(plan);
    return plan;
  } finally {
    if (!opts.keepBuild) {
      await Deno.remove(buildDir, { recursive: true }).catch(() => {});
    }
  }
}
