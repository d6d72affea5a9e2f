/**
 * The directory the user ran `cortex` in: `deno task` runs in the directory
 * of deno.json, and passes the user's as INIT_CWD. Paths on the command
 * line mean that directory.
 *
 * @module
 */

/** INIT_CWD when set, else the working directory. */
export function userDirectory(): string {
  try {
    return Deno.env.get("INIT_CWD") || Deno.cwd();
  } catch {
    // No env permission for it: stay where we are.
    return Deno.cwd();
  }
}
