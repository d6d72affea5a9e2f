/**
 * Lists the files of a project directory that handlers may use: everything
 * except dotfiles, dot-folders (at any depth), the top-level cortex.yaml and
 * what the top-level `.cortexignore` excludes (gitignore semantics).
 *
 * @module
 */

// @ts-types="../vendor/ignore/index.d.ts"
import ignore, { type Ignore } from "../vendor/ignore/index.mjs";
import {
  isAbsolutePath as isAbsolute,
  joinPath as join,
  relativePath as relative,
  SEP as sep,
} from "../path/posix_path.ts";

/** File names that are never project files at the top level. */
const TOP_LEVEL_EXCLUDED = ["cortex.yaml"];

/**
 * Lists project files as sorted POSIX paths relative to `dir`.
 *
 * Symbolic links are resolved: a link is kept only when its real target is
 * itself a project file (or directory) by the same rules, so a link to
 * `.env`, `cortex.yaml`, an ignored file, a dot-folder or anything outside
 * the project is left out. This matters because Deno checks a read grant
 * against the path it is given, not the link's target: granting the path of
 * a link to `.env` would make `.env` readable. A link to a directory is
 * walked (once per real directory, so cycles end), and every file below it
 * is checked by its real path too.
 *
 * @param dir The project directory.
 * @returns Relative paths such as `["handler.ts", "models/values.json"]`.
 */
export async function listProjectFiles(dir: string): Promise<string[]> {
  const root = await Deno.realPath(dir);
  const rules = ignore().add(await readIgnoreFile(join(dir, ".cortexignore")));
  const out: string[] = [];
  await walk({ root, rules, out }, dir, "", root, new Set([root]));
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

interface WalkState {
  /** Real path of the project directory. */
  root: string;
  rules: Ignore;
  out: string[];
}

/**
 * Whether `rel` (a POSIX path relative to the project) names something a
 * handler may read: no dot segment, not the top-level cortex.yaml, not
 * matched by .cortexignore. `""` is the project directory itself.
 */
function allowed(state: WalkState, rel: string, isDir: boolean): boolean {
  if (rel === "") return isDir;
  const parts = rel.split("/");
  if (parts.some((part) => part.startsWith("."))) return false;
  if (parts.length === 1 && TOP_LEVEL_EXCLUDED.includes(rel)) return false;
  return !state.rules.ignores(isDir ? `${rel}/` : rel);
}

async function walk(
  state: WalkState,
  absDir: string,
  relDir: string,
  realDir: string,
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
    let real = join(realDir, entry.name);
    if (entry.isSymlink) {
      const resolved = await resolveInside(state.root, abs);
      if (resolved === null) continue;
      const info = await Deno.stat(resolved);
      if (!info.isDirectory && !info.isFile) continue;
      isDir = info.isDirectory;
      real = resolved;
    } else if (!isDir && !entry.isFile) {
      continue; // Sockets, FIFOs, devices.
    }
    // The path as listed, and the real path it reads (they differ below a
    // link): both must be allowed.
    if (!allowed(state, rel, isDir)) continue;
    const realRel = relative(state.root, real).split(sep).join("/");
    if (realRel !== rel && !allowed(state, realRel, isDir)) continue;
    if (isDir) {
      if (ancestors.has(real)) continue;
      await walk(state, abs, rel, real, new Set([...ancestors, real]));
    } else {
      state.out.push(rel);
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
