/**
 * A content-keyed cache of `cortex serve`'s module preparation (issue 17):
 * `deno cache`, `deno info` and `deno check` of the handlers take ~75 ms of
 * every start (three Deno processes, one after another) and their result
 * depends only on files that rarely change between two starts.
 *
 * The key has two parts. The entry's name is the SHA-256 of what is known
 * before any graph is read: the Deno version, the format of this cache, the
 * flags the steps run with, the project directory and the handlers, what
 * the project's deno.json says about modules (imports, scopes, lockfile,
 * compiler options), the project's lockfile and the runtime's deno.json and
 * deno.lock. The entry then lists every local file of the handlers' module
 * graphs as `deno check` sees them (the handlers, what they import, the
 * runtime's mod.ts and what it imports, byte-imported files, the files
 * `compilerOptions.types` names) and the
 * SHA-256 of their contents: it is used only when that digest still
 * matches and every file it names in Deno's cache (npm package folders,
 * remote modules) still exists. Any change to one of those files, even one
 * that adds an import, changes the digest, so the steps run again. A
 * project without a lockfile of its own (`"lock": false`) is never cached:
 * its resolved packages live only in one start's scratch lockfile.
 *
 * Entries are written only after every step succeeded (a type error is
 * never cached), atomically (a temporary file renamed), readable by the
 * user alone; an entry not owned by this user or writable by others, a
 * link, or one that names another key than its file name is ignored. An entry grants replicas read access to the paths it lists, so
 * the cache is as trusted as Deno's own cache beside it (SECURITY.md).
 *
 * @module
 */

import { joinPath as join } from "../path/posix_path.ts";
import { pruneCacheDir, touch } from "./cache_pruning.ts";

/** Bumped whenever the entry format or what the key covers changes. */
const FORMAT = 2;

/**
 * Where entries live: `$CORTEX_PREPARE_CACHE`, else
 * `$XDG_CACHE_HOME/cortex/prepared`, else `~/.cache/cortex/prepared`; null
 * when `CORTEX_PREPARE_CACHE=off` or no home is known (every start runs
 * every step: a shared fallback such as /tmp could be prepared by another
 * user).
 */
export function prepareCacheDir(): string | null {
  const own = Deno.env.get("CORTEX_PREPARE_CACHE");
  if (own === "off") return null;
  if (own) return own;
  const home = Deno.env.get("HOME");
  const xdg = Deno.env.get("XDG_CACHE_HOME") ||
    (home ? join(home, ".cache") : null);
  return xdg === null ? null : join(xdg, "cortex", "prepared");
}

/** What a successful preparation found, stored under its key. */
export interface PreparedEntry {
  /** Local files of the handlers' checked module graphs (absolute paths). */
  files: string[];
  /** Paths in Deno's cache the graphs load from (must still exist). */
  cached: string[];
  /** Handler path → what its replicas may read (`readPathsOf`). */
  packages: Record<string, string[]>;
  /** Whether the handlers were type-checked (false under --no-check). */
  checked: boolean;
}

interface StoredEntry extends PreparedEntry {
  format: number;
  /**
   * The key it was stored under: an entry copied, moved or linked to
   * another project's name (by whoever can write the directory) is not
   * that project's.
   */
  key: string;
  /** SHA-256 of `files`' paths and contents. */
  digest: string;
}

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * The entry name for the inputs known before the graph: any JSON value;
 * the Deno version and the cache format are added here.
 */
export async function prepareKey(inputs: unknown): Promise<string> {
  const text = JSON.stringify([FORMAT, Deno.version.deno, inputs]);
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * SHA-256 over each file's path, length and contents, in order; null when
 * one cannot be read (deleted, renamed).
 */
export async function digestFiles(files: string[]): Promise<string | null> {
  let contents: Uint8Array[];
  try {
    // Read one after another, synchronously: ~60 small files take ~1 ms,
    // and the first parallel async reads of a process cost ~2 ms more
    // (Deno starts its blocking-I/O threads for them).
    contents = files.map((f) => Deno.readFileSync(f));
  } catch {
    return null;
  }
  const parts: Uint8Array[] = [];
  files.forEach((file, i) => {
    parts.push(encoder.encode(`${file}\0${contents[i]!.length}\0`));
    parts.push(contents[i]!);
  });
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return hex(await crypto.subtle.digest("SHA-256", all));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * This process's user id: `Deno.uid()` needs `--allow-sys`, which the
 * supervisor does not have, so the owner of /proc/self stands in.
 */
async function ownUid(): Promise<number | null> {
  try {
    return Deno.uid();
  } catch {
    return await Deno.stat("/proc/self").then((i) => i.uid, () => null);
  }
}

/**
 * True for a file this user owns that nobody else may write (of an
 * `lstat`: a link is not such a file, whatever it points to).
 */
export async function trusted(info: Deno.FileInfo): Promise<boolean> {
  const uid = await ownUid();
  return info.isFile && (uid === null || info.uid === uid) &&
    (info.mode === null || (info.mode & 0o022) === 0);
}

/**
 * The parsed JSON of the {@linkcode trusted} file at `path`, else null (also
 * when it is missing, unreadable or not JSON). The path is checked with
 * `lstat` (a link is not trusted, whatever it points to), then what is read
 * is checked again through the open file: the path may have been swapped
 * since by whoever else may write the directory. The caller checks the
 * shape.
 */
export async function readTrustedJson(path: string): Promise<unknown> {
  try {
    if (!(await trusted(await Deno.lstat(path)))) return null;
    using file = await Deno.open(path);
    if (!(await trusted(await file.stat()))) return null;
    return JSON.parse(await new Response(file.readable).text());
  } catch {
    return null;
  }
}

/** Entries in one directory. */
export class PrepareCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The cache of {@linkcode prepareCacheDir}, or null when it is off. */
  static fromEnv(): PrepareCache | null {
    const dir = prepareCacheDir();
    return dir === null ? null : new PrepareCache(dir);
  }

  #path(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  /**
   * The entry stored under `key` if its files still have the contents they
   * had and what it names in Deno's cache is still there; else null.
   */
  async lookup(key: string): Promise<PreparedEntry | null> {
    const path = this.#path(key);
    const stored = await readTrustedJson(path) as StoredEntry | null;
    if (
      stored?.format !== FORMAT || stored.key !== key ||
      !Array.isArray(stored.files) ||
      !Array.isArray(stored.cached) || typeof stored.packages !== "object" ||
      stored.packages === null
    ) return null;
    if (!stored.cached.every(exists)) return null;
    if (await digestFiles(stored.files) !== stored.digest) return null;
    void touch(path); // Used: pruning keeps the most recently used.
    return {
      files: stored.files,
      cached: stored.cached,
      packages: stored.packages,
      checked: stored.checked === true,
    };
  }

  /**
   * Stores `entry` under `key`, with the digest of its files as they are
   * now; nothing when that is not `before` (their digest before the steps
   * read them: a file changed meanwhile). Best effort: a cache that cannot
   * be written only costs time.
   */
  async store(
    key: string,
    entry: PreparedEntry,
    before?: string,
  ): Promise<void> {
    const digest = await digestFiles(entry.files);
    if (digest === null || (before !== undefined && digest !== before)) return;
    const stored: StoredEntry = { format: FORMAT, key, digest, ...entry };
    try {
      await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch {
      return; // A read-only home: serve anyway.
    }
    const tmp = join(this.dir, `.${key}.${crypto.randomUUID()}.tmp`);
    try {
      await Deno.writeTextFile(tmp, JSON.stringify(stored), { mode: 0o600 });
      await Deno.rename(tmp, this.#path(key));
    } catch {
      await Deno.remove(tmp).catch(() => {}); // A full disk: serve anyway.
      return;
    }
    await pruneCacheDir(this.dir);
  }
}
