/**
 * The supervisor's commands to its children, one per line on their stdin:
 * "drain" (or the end of stdin: the supervisor is gone) drains, "exit" exits
 * at once. Used by the serving process and the gRPC process.
 *
 * @module
 */

import { EXIT } from "./exit_codes.ts";

/**
 * Reads supervisor commands from stdin until it ends.
 *
 * @param stop called on "drain" and at the end of stdin
 */
export async function readCommands(
  stop: (why: string) => void,
): Promise<void> {
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buffered = "";
  for await (const chunk of lines) {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const command = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (command === "drain") stop("drain");
      if (command === "exit") Deno.exit(EXIT.failure);
    }
  }
  stop("supervisor gone");
}
