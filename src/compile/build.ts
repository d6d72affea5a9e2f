/**
 * Writes a {@linkcode CompilePlan}'s build directory: the project copy, the
 * generated wrappers and the entry module.
 *
 * @module
 */

import { dirname } from "node:path";
import type { CompilePlan } from "./plan.ts";

/**
 * Creates (or empties) `plan.buildDir` and writes every file of the plan.
 *
 * @param plan The plan from `planCompile`.
 */
export async function writeBuild(plan: CompilePlan): Promise<void> {
  await Deno.remove(plan.buildDir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  for (const file of plan.files) {
    await Deno.mkdir(dirname(file.path), { recursive: true });
    if ("copy" in file.from) await Deno.copyFile(file.from.copy, file.path);
    else await Deno.writeTextFile(file.path, file.from.text);
  }
}
