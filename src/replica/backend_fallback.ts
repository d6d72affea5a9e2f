/**
 * Says when a library silently swaps its fast engine for a slow one. tfjs
 * logs only "Initialization of backend wasm failed" and then runs on the
 * next registered backend (`cpu`, several times slower); the reason came a
 * few lines earlier (emscripten's "Aborted(...)" with the permission that
 * was refused). The console of a replica passes every line through
 * {@linkcode BackendFallbackNotes.rewrite}, which names both on that line.
 *
 * @module
 */

const TFJS_FAILED = /^Initialization of backend (\S+) failed$/;
/** What says why a WASM engine could not start, most telling first. */
const REASONS = [/Permission denied: [^]*/, /NotCapable[^]*/, /Aborted\([^]*/];

/** Remembers the last failure reason a library logged, to explain a fallback. */
export class BackendFallbackNotes {
  #reason: string | null = null;

  /**
   * Returns `text` unchanged, except tfjs's backend failure line, which
   * gains what happens next and the last reason seen.
   */
  rewrite(text: string): string {
    const failed = TFJS_FAILED.exec(text);
    if (failed === null) {
      const reason = REASONS.map((r) => r.exec(text)).find((m) => m);
      if (reason) {
        this.#reason = balanced(
          reason[0].replace(/\. Build with -sASSERTIONS[^]*$/, ""),
        );
      }
      return text;
    }
    const why = this.#reason === null ? "" : ` Why: ${this.#reason}`;
    this.#reason = null;
    return `${text}: tfjs falls back to the next registered backend ("cpu": several times slower; tf.getBackend() says which runs). Call tf.setBackend("${
      failed[1]
    }") and check its result to fail instead.${why}`;
  }
}

/** `text` without the closing parentheses it has more of than opening ones. */
function balanced(text: string): string {
  let out = text;
  const count = (c: string) => out.split(c).length - 1;
  while (out.endsWith(")") && count(")") > count("(")) out = out.slice(0, -1);
  return out;
}
