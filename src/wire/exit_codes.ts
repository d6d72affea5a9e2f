/**
 * Every exit code a Cortex process ends with, in one table: the supervisor
 * decides from its children's codes whether to restart them, and scripts
 * (Kubernetes, CI) decide from the CLI's and a compiled binary's.
 *
 * | code | name      | meaning                                                   |
 * | ---- | --------- | --------------------------------------------------------- |
 * | 0    | `ok`      | clean exit (drained, or a command succeeded)               |
 * | 1    | `failure` | a failure at run time (crash, forced stop, unhealthy)      |
 * | 2    | `usage`   | bad command line or configuration: restarting cannot help  |
 * | 3    | `noApi`   | no API could start                                         |
 * | 75   | `restart` | the gRPC process asks to be restarted (other APIs now)     |
 *
 * @module
 */

/** The exit codes of the CLI, the supervisor's children and binaries. */
export const EXIT = {
  /** Clean exit: drained, or a command succeeded. */
  ok: 0,
  /** A failure at run time: a crash, a forced stop, an unhealthy check. */
  failure: 1,
  /** Bad command line or configuration: restarting cannot help. */
  usage: 2,
  /** No API could start. */
  noApi: 3,
  /** The child asks the supervisor to start it again at once (EX_TEMPFAIL). */
  restart: 75,
} as const;

/** Codes after which the supervisor stops instead of restarting a child. */
export const FINAL_EXIT_CODES: ReadonlySet<number> = new Set([
  EXIT.ok,
  EXIT.usage,
  EXIT.noApi,
]);
