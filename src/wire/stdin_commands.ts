/**
 * The supervisor's commands to its children, one per line on their stdin:
 * "drain" (or the end of stdin: the supervisor is gone) drains, "exit" exits
 * at once. Written by the supervisor (`encodeCommand`), read by the serving
 * process and the gRPC process (`readCommands`).
 *
 * @module
 */

import { EXIT } from "./exit_codes.ts";

/** A command the supervisor sends to a child. */
export type SupervisorCommand = "drain" | "exit";

/** The bytes of one command on a child's stdin. */
export function encodeCommand(command: SupervisorCommand): Uint8Array {
  return new TextEncoder().encode(command + "\n");
}

/**
 * Reads supervisor commands until the input ends.
 *
 * @param stop called on "drain" and at the end of the input
 * @param input the command stream; the process's stdin by default
 * @param exit called on "exit"; `Deno.exit` by default
 */
export async function readCommands(
  stop: (why: string) => void,
  input: ReadableStream<Uint8Array> = Deno.stdin.readable,
  exit: (code: number) => void = Deno.exit,
): Promise<void> {
  const lines = input.pipeThrough(new TextDecoderStream());
  let buffered = "";
  for await (const chunk of lines) {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const command = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (command === "drain") stop("drain");
      if (command === "exit") exit(EXIT.failure);
    }
  }
  stop("supervisor gone");
}
