/**
 * Starts the serving process ahead (issue 17): at the supervisor's very
 * start, before it loads its heavy modules, parses the project and looks up
 * the prepare cache, from the record of the last start of the same
 * invocation (src/supervisor/start_record.ts). That process loads its
 * modules meanwhile but does nothing observable before its "go"
 * (src/server/serve_main.ts).
 *
 * The supervisor then computes the serving process's command exactly as
 * without a record; the process started ahead is kept ({@linkcode
 * SpeculativeStart.take}) only if its arguments, its environment and the
 * files Deno read as it started (import map, lockfile) are byte for byte
 * that command's. Otherwise it is killed (it has started nothing: no
 * replica before "go") and a new one is started: the start is then the one
 * without a record. A record is stored only once a serving process served.
 *
 * @module
 */

import { filePath, fileUrl } from "../path/posix_path.ts";
import { serveProcessArgv } from "../wire/serve_process_args.ts";
import type { SpawnedChild } from "./generation.ts";
import {
  denoFlagsProblem,
  importMapProblem,
  recordEnvProblem,
} from "./start_record_check.ts";
import {
  type Invocation,
  type StartRecord,
  startRecordKey,
  StartRecords,
  STARTUP_FILES,
  withoutScratchRoot,
  withScratchRoot,
} from "./start_record.ts";

/** The serving process's entry module. */
export const SERVE_MAIN = filePath(
  new URL("../server/serve_main.ts", import.meta.url),
);

/** The runtime's location and version (its deno.json's), for the key. */
function runtimeVersion(): string {
  const root = new URL("../../", import.meta.url);
  try {
    const config = Deno.readTextFileSync(new URL("deno.json", root));
    return `${root.href} ${JSON.parse(config).version}`;
  } catch {
    return root.href;
  }
}

/** A supervisor log line's writer. */
type Log = (
  level: "INFO" | "ERROR",
  message: string,
  extra?: Record<string, unknown>,
) => void;

/** The serving process's own arguments in its `deno` arguments. */
function serveArgs(args: string[]) {
  return serveProcessArgv.parseArgv(args.slice(args.indexOf(SERVE_MAIN) + 1));
}

/**
 * Why `args` (the scratch root substituted) cannot be a serving process's
 * command line of this runtime with its startup files in `scratchRoot`, or
 * has Deno flags the supervisor does not give one (src/supervisor/
 * start_record_check.ts); null when it can. Checked before anything is
 * spawned from a record, with the record's environment and import map.
 */
export function recordArgsProblem(
  args: string[],
  scratchRoot: string,
): string | null {
  const main = args.indexOf(SERVE_MAIN);
  if (args[0] !== "run" || main < 0) return "not a serving process's command";
  const denoFlags = args.slice(1, main);
  if (!denoFlags.every((f) => f.startsWith("--"))) {
    return "an argument of deno that is not a flag";
  }
  const flagProblem = denoFlagsProblem(denoFlags, scratchRoot);
  const importMap = `${scratchRoot}/${STARTUP_FILES[0]}`;
  const lock = `${scratchRoot}/${STARTUP_FILES[1]}`;
  if (
    !denoFlags.includes(`--import-map=${importMap}`) ||
    !denoFlags.includes(`--lock=${lock}`) ||
    denoFlags.some((f) =>
      (f.startsWith("--import-map=") && f !== `--import-map=${importMap}`) ||
      (f.startsWith("--lock=") && f !== `--lock=${lock}`) ||
      f.startsWith("--config")
    )
  ) return "its import map or lockfile is not the start's own";
  if (flagProblem !== null) return flagProblem;
  try {
    const parsed = serveArgs(args);
    if (
      parsed.modules.importMap !== importMap || parsed.modules.lock !== lock
    ) return "its --import-map-file or --lock-file is not the start's own";
    if (
      parsed.prestartFile !== undefined &&
      !parsed.prestartFile.startsWith(`${scratchRoot}/`)
    ) return "its --prestart-file is not in the start's scratch root";
    // What it binds and writes before "go" (replicas started ahead).
    if (
      !parsed.replicaSocket.startsWith(`${scratchRoot}/`) ||
      !parsed.scratchRoot.startsWith(`${scratchRoot}/`)
    ) {
      return "its --replica-socket or --scratch-root is not in the start's scratch root";
    }
  } catch (error) {
    return (error as Error).message;
  }
  return null;
}

function sameStrings(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameEnv(a: Record<string, string>, b: Record<string, string>) {
  const keys = Object.keys(a).sort();
  return sameStrings(keys, Object.keys(b).sort()) &&
    keys.every((k) => a[k] === b[k]);
}

/** One start's scratch root, and the serving process started ahead, if any. */
export class SpeculativeStart {
  /** This start's scratch root (a new temporary directory). */
  readonly scratchRoot: string;
  readonly #records: StartRecords | null;
  readonly #key: string;
  #record: StartRecord | null;
  #child: Deno.ChildProcess | null;
  #exited = false;
  /** What the first serving process was started with (for the next record). */
  #first: StartRecord | null = null;
  #stored = false;

  private constructor(
    scratchRoot: string,
    records: StartRecords | null,
    key: string,
    record: StartRecord | null,
    child: Deno.ChildProcess | null,
  ) {
    this.scratchRoot = scratchRoot;
    this.#records = records;
    this.#key = key;
    this.#record = record;
    this.#child = child;
    child?.status.then(() => this.#exited = true, () => this.#exited = true);
  }

  /**
   * Makes the start's scratch root and, when the invocation has a trusted
   * record of well-formed arguments, writes the record's startup files
   * there and starts its serving process (stdin piped, waiting for "go").
   *
   * @param argv the CLI's arguments (`serve <project> ...`)
   * @param cwd the directory the user ran it in (the child's too)
   */
  static async begin(argv: string[], cwd: string): Promise<SpeculativeStart> {
    const scratchRoot = await Deno.makeTempDir({ prefix: "cortex-" });
    const records = StartRecords.fromEnv();
    const invocation: Invocation = { argv, cwd, runtime: runtimeVersion() };
    const key = await startRecordKey(invocation);
    const record = await records?.read(key) ?? null;
    const args = record ? withScratchRoot(record.args, scratchRoot) : null;
    if (
      !record || !args || recordArgsProblem(args, scratchRoot) !== null ||
      recordEnvProblem(record.env) !== null ||
      importMapProblem(
          record.files[STARTUP_FILES[0]]!,
          fileUrl(`${scratchRoot}/${STARTUP_FILES[0]}`).href,
        ) !== null
    ) return new SpeculativeStart(scratchRoot, records, key, null, null);
    let child: Deno.ChildProcess | null = null;
    try {
      for (const name of STARTUP_FILES) {
        Deno.writeTextFileSync(`${scratchRoot}/${name}`, record.files[name]!);
      }
      // The replicas it starts before "go" (compared after it: see
      // src/server/replica_prestart.ts).
      const prestartFile = serveArgs(args).prestartFile;
      if (prestartFile !== undefined && record.prestart !== undefined) {
        Deno.mkdirSync(prestartFile.slice(0, prestartFile.lastIndexOf("/")), {
          recursive: true,
        });
        Deno.writeTextFileSync(
          prestartFile,
          withScratchRoot([record.prestart], scratchRoot)[0]!,
        );
      }
      child = new Deno.Command(Deno.execPath(), {
        args,
        env: record.env,
        cwd,
        stdin: "piped",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
    } catch {
      // Cannot write or spawn: the start goes on without it.
    }
    return new SpeculativeStart(scratchRoot, records, key, record, child);
  }

  /** The record's path (for log lines and tests). */
  get recordPath(): string | null {
    return this.#records?.path(this.#key) ?? null;
  }

  /**
   * The first serving process of the start, for `args` and `env` as the
   * supervisor computed them: the process started ahead when everything it
   * started with is that, else null (it is killed). Only the first call
   * can return it.
   */
  take(
    args: string[],
    env: Record<string, string>,
    log: Log,
  ): SpawnedChild | null {
    const files: Record<string, string> = {};
    try {
      for (const name of STARTUP_FILES) {
        files[name] = Deno.readTextFileSync(`${this.scratchRoot}/${name}`);
      }
    } catch {
      // Not prepared (a test's supervisor): nothing to record or compare.
    }
    if (this.#first === null) {
      this.#first = {
        args: withoutScratchRoot(args, this.scratchRoot),
        env,
        files,
      };
    }
    const child = this.#child;
    const record = this.#record;
    this.#child = null;
    this.#record = null;
    if (child === null || record === null) return null;
    const why = this.#exited
      ? "it exited"
      : !sameStrings(withScratchRoot(record.args, this.scratchRoot), args)
      ? "its command line differs"
      : !sameEnv(record.env, env)
      ? "its environment differs"
      : !STARTUP_FILES.every((n) => record.files[n] === files[n])
      ? "its import map or lockfile differs"
      : null;
    if (why === null) {
      log(
        "INFO",
        "Serving process started ahead from the last start's record (same command line)",
        { speculativeStart: "adopted", pid: child.pid },
      );
      return child;
    }
    kill(child);
    // The new process starts as without a record: no replica from it.
    try {
      const { prestartFile } = serveArgs(args);
      if (prestartFile !== undefined) Deno.removeSync(prestartFile);
    } catch {
      // None was written.
    }
    log(
      "INFO",
      `Serving process started ahead from the last start's record not used: ${why}; starting it anew`,
      { speculativeStart: "rejected", reason: why },
    );
    return null;
  }

  /**
   * Stores what the first serving process was started with, for the next
   * start of this invocation: called once it served (once a start).
   */
  async store(): Promise<void> {
    const first = this.#first;
    if (!this.#records || !first || this.#stored) return;
    this.#stored = true;
    if (STARTUP_FILES.some((n) => first.files[n] === undefined)) return;
    let prestart: string | undefined;
    try {
      const prestartFile = serveArgs(
        withScratchRoot(first.args, this.scratchRoot),
      ).prestartFile;
      if (prestartFile !== undefined) {
        prestart = withoutScratchRoot(
          [Deno.readTextFileSync(prestartFile)],
          this.scratchRoot,
        )[0];
      }
    } catch {
      // It wrote none (--port 0): no head start for replicas.
    }
    if (prestart !== undefined) first.prestart = prestart;
    await this.#records.write(this.#key, first);
  }

  /** Kills the process started ahead if nobody took it. */
  discard(): void {
    if (this.#child) kill(this.#child);
    this.#child = null;
  }
}

function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // Already exited.
  }
  // Its stdin: nothing more to say.
  void child.stdin.close().catch(() => {});
  void child.status.catch(() => {});
}
