/**
 * Lists the files of a project directory that handlers may use: everything
 * except dotfiles, dot-folders (at any depth), the top-level cortex.yaml and
 * what the top-level `.cortexignore` excludes (gitignore semantics).
 *
 * @module
 */

import ignore, { type Ignore } from "ignore";
import { isAbsolute, join, relative, sep } from "node:path";

/** File names that are never project files at the top level. */
const TOP_LEVEL_EXCLUDED = ["cortex.yaml"];

/**
 * Lists project files as sorted POSIX paths relative to `dir`.
 *
 * Symbolic links are kept only when they resolve inside the project; a link to
 * a directory is walked (once per real directory, so cycles end).
 *
 * @param dir The project directory.
 * @returns Relative paths such as `["handler.ts", "models/values.json"]`.
 */
export async function listProjectFiles(dir: string): Promise<string[]> {
  const root = await Deno.realPath(dir);
  const rules = ignore().add(await readIgnoreFile(join(dir, ".cortexignore")));
  const out: string[] = [];
  await walk({ root, rules, out }, dir, "", new Set([root]));
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

interface WalkState {
  /** Real path of the project directory. */
  root: string;
  rules: Ignore;
  out: string[];
}

async function walk(
  state: WalkState,
  absDir: string,
  relDir: string,
  ancestors: Set<string>,
): Promise<void> {
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(absDir)) entries.push(entry);
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const rel = relDir === "" ? entry.name : `${relDir}/${entry.name}`;
    if (relDir === "" && TOP_LEVEL_EXCLUDED.includes(entry.name)) continue;
    const abs = join(absDir, entry.name);
    let isDir = entry.isDirectory;
    let real: string | null = null;
    if (entry.isSymlink) {
      real = await resolveInside(state.root, abs);
      if (real === null) continue;
      const info = await Deno.stat(real);
      if (!info.isDirectory && !info.isFile) continue;
      isDir = info.isDirectory;
    }
    if (isDir) {
      if (state.rules.ignores(`${rel}/`)) continue;
      const key = real ?? await Deno.realPath(abs);
      if (ancestors.has(key)) continue;
      await walk(state, abs, rel, new Set([...ancestors, key]));
    } else if (entry.isFile || real !== null) {
      if (!state.rules.ignores(rel)) state.out.push(rel);
    }
  }
}

/** The real path of a link when it stays inside `root`, else null. */
async function resolveInside(
  root: string,
  link: string,
): Promise<string | null> {
  let real: string;
  try {
    real = await Deno.realPath(link);
  } catch {
    return null; // A dangling link.
  }
  const rel = relative(root, real);
  const outside = rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  return outside ? null : real;
}

async function readIgnoreFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}
