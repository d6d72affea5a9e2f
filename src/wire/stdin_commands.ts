/**
 * The supervisor's commands to its children, one per line on their stdin:
 * "go <token>" lets a serving process start (see below), "drain" (or the end
 * of stdin: the supervisor is gone) drains, "exit" exits at once. Written by
 * the supervisor (`encodeCommand`), read by the serving process
 * ({@linkcode CommandReader}) and the gRPC process (`readCommands`).
 *
 * A serving process does nothing observable before its "go": the supervisor
 * may start it ahead, from the last start's command line, and keep it only
 * if that is this start's (src/supervisor/speculative_start.ts). "go"
 * carries the control API's token, which therefore is never in a process's
 * environment or command line, nor in the record of a start.
 *
 * @module
 */

import { EXIT } from "./exit_codes.ts";

/** A command the supervisor sends to a child. */
export type SupervisorCommand = "drain" | "exit" | `go ${string}`;

/**
 * The "go" command of a serving process with control token `token`
 * (percent-encoded: a token set in the environment may hold any character).
 */
export function goCommand(token: string): SupervisorCommand {
  return `go ${encodeURIComponent(token)}`;
}

/** The bytes of one command on a child's stdin. */
export function encodeCommand(command: SupervisorCommand): Uint8Array {
  return new TextEncoder().encode(command + "\n");
}

/** Splits `input` into trimmed lines; calls `line` for each. */
async function eachLine(
  input: ReadableStream<Uint8Array>,
  line: (text: string) => void,
): Promise<void> {
  const lines = input.pipeThrough(new TextDecoderStream());
  let buffered = "";
  for await (const chunk of lines) {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const command = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      line(command);
    }
  }
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
  await eachLine(input, (command) => {
    if (command === "drain") stop("drain");
    if (command === "exit") exit(EXIT.failure);
  });
  stop("supervisor gone");
}

/**
 * A serving process's commands: {@linkcode CommandReader.go} resolves with
 * the token of the first "go" line, or null when "drain" or the end of the
 * input came first (the supervisor did not keep this process); stop
 * requests after "go" wait for {@linkcode CommandReader.onStop}.
 */
export class CommandReader {
  /** The control token of "go"; null when told to stop before it. */
  readonly go: Promise<string | null>;
  #stop: ((why: string) => void) | null = null;
  readonly #pending: string[] = [];

  /**
   * @param input the command stream; the process's stdin by default
   * @param exit called on "exit"; `Deno.exit` by default
   */
  constructor(
    input: ReadableStream<Uint8Array> = Deno.stdin.readable,
    exit: (code: number) => void = Deno.exit,
  ) {
    const go = Promise.withResolvers<string | null>();
    this.go = go.promise;
    let started = false;
    const stop = (why: string) => {
      if (!started) go.resolve(null);
      else if (this.#stop) this.#stop(why);
      else this.#pending.push(why);
    };
    void eachLine(input, (command) => {
      if (command.startsWith("go ") && !started) {
        const token = decodeURIComponent(command.slice(3).trim());
        started = true;
        go.resolve(token);
      }
      if (command === "drain") stop("drain");
      if (command === "exit") exit(EXIT.failure);
    }).catch(() => {}).then(() => stop("supervisor gone"));
  }

  /** Calls `stop` for each stop request after "go" (queued ones at once). */
  onStop(stop: (why: string) => void): void {
    this.#stop = stop;
    for (const why of this.#pending.splice(0)) stop(why);
  }
}
