/**
 * Cuts a child process's raw output (a replica's stdout and stderr) into
 * lines of bounded length. Handler code can write to its stdout without ever
 * writing a newline; a reader that waited for the end of the line would hold
 * all of it in the serving process (hundreds of megabytes, then seconds of
 * work on one string while every other API waits).
 *
 * @module
 */

/** Longest line passed on whole, in UTF-16 code units (64 KiB of ASCII). */
export const MAX_OUTPUT_LINE = 64 * 1024;

/** Where {@linkcode OutputLines} sends what it cut. */
export interface OutputSink {
  /** Complete lines, each ending in "\n", none longer than the limit. */
  lines(text: string): void;
  /**
   * A piece of a line longer than the limit (no newline): never a line of
   * its own, since its start or end is missing.
   */
  piece(text: string): void;
}

/**
 * Collects output text and hands it on as complete lines and, for a line
 * longer than `max`, as pieces of at most `max` code units (all of that
 * line, its last part too), in the order written. It holds at most `max`
 * code units between pushes.
 *
 * @example Usage
 * ```ts
 * import { OutputLines } from "./output_lines.ts";
 * const out: string[] = [];
 * const split = new OutputLines(
 *   { lines: (t) => out.push(t), piece: (t) => out.push(`piece ${t}`) },
 *   4,
 * );
 * split.push("ab\nabcdefg");
 * split.end();
 * // out: ["ab\n", "piece abcd", "piece efg"]
 * ```
 */
export class OutputLines {
  #sink: OutputSink;
  #max: number;
  /** The current line's text so far (at most `max` code units). */
  #partial = "";
  /** The current line was too long: the rest of it goes as pieces too. */
  #cut = false;

  /**
   * Creates a splitter.
   *
   * @param sink Receives the lines and pieces.
   * @param max Longest line passed on whole (default {@linkcode MAX_OUTPUT_LINE}).
   */
  constructor(sink: OutputSink, max: number = MAX_OUTPUT_LINE) {
    this.#sink = sink;
    this.#max = max;
  }

  /**
   * Adds output text.
   *
   * @param text The next text written, of any length.
   */
  push(text: string): void {
    const last = text.lastIndexOf("\n");
    // The common case: every line ends within the limit.
    if (
      last !== -1 && !this.#cut && this.#partial.length + last <= this.#max
    ) {
      this.#sink.lines(this.#partial + text.slice(0, last + 1));
      this.#partial = "";
      this.#hold(text.slice(last + 1));
      return;
    }
    let start = 0;
    let run = ""; // complete lines not yet passed on
    for (;;) {
      const end = text.indexOf("\n", start);
      if (end === -1) break;
      const line = this.#partial + text.slice(start, end);
      this.#partial = "";
      if (!this.#cut && line.length <= this.#max) run += line + "\n";
      else {
        if (run !== "") this.#sink.lines(run);
        run = "";
        this.#pieces(line, true);
        this.#cut = false;
      }
      start = end + 1;
    }
    if (run !== "") this.#sink.lines(run);
    this.#hold(text.slice(start));
  }

  /** Passes on what is left (a last line without its newline). */
  end(): void {
    const rest = this.#partial;
    this.#partial = "";
    if (this.#cut) this.#pieces(rest, true);
    else if (rest !== "") this.#sink.lines(rest + "\n");
    this.#cut = false;
  }

  /** Adds to the unterminated line, passing on pieces while it is too long. */
  #hold(text: string): void {
    if (text === "") return;
    const line = this.#partial + text;
    this.#partial = this.#pieces(line, false);
  }

  /**
   * Passes on `line` in pieces of `max`; returns what is left under `max`
   * unless `all`, when that goes as a piece too.
   */
  #pieces(line: string, all: boolean): string {
    let at = 0;
    while (line.length - at > this.#max) {
      this.#sink.piece(line.slice(at, at + this.#max));
      this.#cut = true;
      at += this.#max;
    }
    const rest = line.slice(at);
    if (!all) return rest;
    if (rest !== "") this.#sink.piece(rest);
    return "";
  }
}
