/**
 * The record of the last successful start of one `cortex serve` invocation:
 * the serving process's command line and environment, the two files Deno
 * reads as that process starts (its import map and lockfile), and the
 * commands of the replicas it prestarted (src/wire/prestart_launches.ts). The
 * next start of the same invocation starts a serving process from it
 * before it has parsed the project (src/supervisor/speculative_start.ts).
 *
 * A record decides a process's permissions and import map, so it is
 * trusted like a prepare-cache entry (src/supervisor/prepare_cache.ts):
 * written only after a serving process served, atomically, readable by the
 * user alone, in the prepare cache's directory; one not owned by this user,
 * writable by others, a link, or naming another key than its file name is
 * ignored. The key binds it to the invocation: the command line, the
 * working directory, Deno's version and executable, and the runtime's
 * location and version.
 *
 * It holds no secret: the control token travels on the serving process's
 * stdin with its "go" (src/wire/stdin_commands.ts), `.env` values reach the
 * serving process through the project file of each start, and the
 * environment inherited from the supervisor is never stored.
 *
 * @module
 */

import { prepareCacheDir, readTrustedJson } from "./prepare_cache.ts";
import { pruneCacheDir } from "./cache_pruning.ts";

/** Bumped whenever the record's format or what the key covers changes. */
const FORMAT = 1;

/**
 * Stands for the start's scratch root in a stored command line: each start
 * has a new one (a temporary directory), the rest of the line is the same.
 * A NUL cannot be in a real argument.
 */
export const SCRATCH_ROOT = "\u0000scratch-root\u0000";

/** The files Deno reads as the serving process starts, in the scratch root. */
export const STARTUP_FILES = ["import_map.json", "deno.lock"] as const;

/** One start's serving process, as stored (scratch root as SCRATCH_ROOT). */
export interface StartRecord {
  /** `deno` arguments. */
  args: string[];
  /** The environment given on top of the supervisor's own. */
  env: Record<string, string>;
  /** Contents of {@linkcode STARTUP_FILES}, by name. */
  files: Record<string, string>;
  /** The serving process's prestart file, when it wrote one. */
  prestart?: string;
}

interface StoredRecord extends StartRecord {
  format: number;
  /** The key it was stored under (a record moved or copied is not this one). */
  key: string;
}

/** What a record's key is made of. */
export interface Invocation {
  /** The CLI's arguments (`serve <project> ...`). */
  argv: string[];
  /** The directory the user ran it in. */
  cwd: string;
  /** The runtime's own location and version. */
  runtime: string;
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** The record's key: SHA-256 of the invocation, Deno's version and path. */
export async function startRecordKey(inv: Invocation): Promise<string> {
  const text = JSON.stringify([
    FORMAT,
    Deno.version.deno,
    Deno.execPath(),
    inv.runtime,
    inv.cwd,
    inv.argv,
  ]);
  return hex(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string");
}

/** `args` with the scratch root in place of {@linkcode SCRATCH_ROOT}. */
export function withScratchRoot(args: string[], scratchRoot: string): string[] {
  return args.map((a) => a.replaceAll(SCRATCH_ROOT, scratchRoot));
}

/** `args` with {@linkcode SCRATCH_ROOT} in place of the scratch root. */
export function withoutScratchRoot(
  args: string[],
  scratchRoot: string,
): string[] {
  return args.map((a) => a.replaceAll(scratchRoot, SCRATCH_ROOT));
}

/** Records in one directory. */
export class StartRecords {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The records beside the prepare cache; null when it is off. */
  static fromEnv(): StartRecords | null {
    const dir = prepareCacheDir();
    return dir === null ? null : new StartRecords(dir);
  }

  /** Where the record of `key` is. */
  path(key: string): string {
    return `${this.dir}/start-${key}.json`;
  }

  /** The record stored under `key`, if there is a trusted, well-formed one. */
  async read(key: string): Promise<StartRecord | null> {
    // A link is not a record, whatever it points to.
    const stored = await readTrustedJson(this.path(key)) as
      | StoredRecord
      | null;
    if (
      stored?.format !== FORMAT || stored.key !== key ||
      !Array.isArray(stored.args) ||
      !stored.args.every((a) => typeof a === "string") ||
      !isStringRecord(stored.env) || !isStringRecord(stored.files) ||
      (stored.prestart !== undefined && typeof stored.prestart !== "string") ||
      Object.keys(stored.files).sort().join() !==
        [...STARTUP_FILES].sort().join()
    ) return null;
    return {
      args: stored.args,
      env: stored.env,
      files: stored.files,
      ...(stored.prestart !== undefined ? { prestart: stored.prestart } : {}),
    };
  }

  /**
   * Stores `record` under `key`. Best effort: a record that cannot be
   * written only costs the next start time.
   */
  async write(key: string, record: StartRecord): Promise<void> {
    const stored: StoredRecord = { format: FORMAT, key, ...record };
    try {
      await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch {
      return;
    }
    const tmp = `${this.dir}/.start-${key}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify(stored), { mode: 0o600 });
      await Deno.rename(tmp, this.path(key));
    } catch {
      await Deno.remove(tmp).catch(() => {});
      return;
    }
    // Rewritten by every start that used it, so its mtime is its last use.
    await pruneCacheDir(this.dir);
  }
}
