/**
 * Bounds the prepare cache's directory: every distinct project, command or
 * port leaves a prepare entry and a start record there (~10 KB each), so
 * without pruning it grows by one of each per new invocation, forever.
 *
 * Each kind keeps its {@linkcode PrunePolicy.keep} most recently used files
 * and drops any unused for {@linkcode PrunePolicy.maxAgeMs}; a temporary file
 * older than {@linkcode PrunePolicy.tmpMaxAgeMs} is what a writer killed
 * between write and rename left. "Used" is the file's mtime: a start record is
 * rewritten by every start that used it, a prepare entry is touched on every
 * hit ({@linkcode touch}). Files of any other name are left alone.
 *
 * @module
 */

import { joinPath as join } from "../path/posix_path.ts";

/** How many files of a kind stay, and how long an unused one stays. */
export interface PrunePolicy {
  /** Most recently used entries kept per kind. */
  keep: number;
  /** An entry unused this long is removed. */
  maxAgeMs: number;
  /** A temporary file this old was abandoned by its writer. */
  tmpMaxAgeMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The policy `cortex serve` prunes with. */
export const PRUNE_POLICY: PrunePolicy = {
  keep: 64,
  maxAgeMs: 30 * DAY_MS,
  tmpMaxAgeMs: 60 * 60 * 1000,
};

/** A file of the directory: its name and when it was last used. */
export interface CacheFile {
  name: string;
  mtimeMs: number;
}

const PREPARED = /^[0-9a-f]{64}\.json$/;
const START = /^start-[0-9a-f]{64}\.json$/;
const TMP = /^\..+\.tmp$/;

/** The kind of a cache file by its name, or null for a file not ours. */
export function kindOf(name: string): "prepared" | "start" | "tmp" | null {
  if (PREPARED.test(name)) return "prepared";
  if (START.test(name)) return "start";
  if (TMP.test(name)) return "tmp";
  return null;
}

/** The names `policy` removes from `files` at time `now` (pure). */
export function namesToPrune(
  files: CacheFile[],
  now: number,
  policy: PrunePolicy = PRUNE_POLICY,
): string[] {
  const out: string[] = [];
  const byKind = new Map<string, CacheFile[]>();
  for (const file of files) {
    const kind = kindOf(file.name);
    if (kind === null) continue;
    if (kind === "tmp") {
      if (now - file.mtimeMs > policy.tmpMaxAgeMs) out.push(file.name);
      continue;
    }
    const list = byKind.get(kind) ?? [];
    list.push(file);
    byKind.set(kind, list);
  }
  for (const list of byKind.values()) {
    list.sort((a, b) => b.mtimeMs - a.mtimeMs);
    list.forEach((file, i) => {
      if (i >= policy.keep || now - file.mtimeMs > policy.maxAgeMs) {
        out.push(file.name);
      }
    });
  }
  return out;
}

/**
 * Removes what {@linkcode namesToPrune} names from `dir`. Best effort: a
 * file another start removed or is writing is skipped, and nothing here can
 * fail a start.
 */
export async function pruneCacheDir(
  dir: string,
  now: number = Date.now(),
  policy: PrunePolicy = PRUNE_POLICY,
): Promise<string[]> {
  const files: CacheFile[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (kindOf(entry.name) === null) continue;
      const info = await Deno.lstat(join(dir, entry.name)).catch(() => null);
      if (info?.mtime) {
        files.push({ name: entry.name, mtimeMs: info.mtime.getTime() });
      }
    }
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of namesToPrune(files, now, policy)) {
    try {
      await Deno.remove(join(dir, name));
      removed.push(name);
    } catch {
      // Gone already (another start pruned it).
    }
  }
  return removed;
}

/** Marks the cache file at `path` as used now (best effort). */
export async function touch(path: string): Promise<void> {
  const now = new Date();
  await Deno.utime(path, now, now).catch(() => {});
}
