/**
 * The prestart file of a serving process (`--prestart-file`): the first
 * replica of each API it started before it loaded the rest of itself
 * (src/server/replica_prestart.ts), as the replica id and the command. The
 * serving process writes the commands it computed; the supervisor keeps
 * them in the start's record (src/supervisor/start_record.ts) and writes
 * them back for the serving process it starts ahead on the next start of
 * the same command, which then starts those replicas before its "go".
 * They are only a head start: the pool adopts a replica only if the command
 * it computes from the project is the same (else it is killed).
 *
 * @module
 */

/** One replica started ahead of the server. */
export interface PrestartLaunch {
  /** The API it serves. */
  api: string;
  /** Its replica id (`<api>-<n>`). */
  replicaId: string;
  /** The executable (Deno). */
  command: string;
  args: string[];
  /** Its working directory (the project directory). */
  cwd: string;
}

/** The file's text. */
export function encodePrestartLaunches(launches: PrestartLaunch[]): string {
  return JSON.stringify(launches);
}

/**
 * The launches in `text`; throws a TypeError naming what is not a launch.
 */
export function parsePrestartLaunches(text: string): PrestartLaunch[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) {
    throw new TypeError("prestart file: expected a JSON array of launches");
  }
  return value.map((l, i) => {
    const ok = typeof l === "object" && l !== null &&
      typeof l.api === "string" && typeof l.replicaId === "string" &&
      typeof l.command === "string" && typeof l.cwd === "string" &&
      Array.isArray(l.args) &&
      l.args.every((a: unknown) => typeof a === "string");
    if (!ok) {
      throw new TypeError(
        `prestart file: launch ${i}: expected api, replicaId, command, cwd (strings) and args (strings)`,
      );
    }
    return {
      api: l.api,
      replicaId: l.replicaId,
      command: l.command,
      args: [...l.args],
      cwd: l.cwd,
    };
  });
}
