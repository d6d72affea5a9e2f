/**
 * A model download process's command line: `fetch_model_main.ts <url> <out>`
 * (src/supervisor/fetch_model_main.ts), written by the supervisor for each
 * `handler.models` URL (src/supervisor/model_cache.ts). The process is
 * granted exactly the URL's host and the output file, so both travel as
 * plain positionals.
 *
 * @module
 */

import { type ArgvCodec, UsageError } from "./argv.ts";

/** What one download process fetches, and where it writes it. */
export interface FetchModelArgs {
  /** The model's URL (its host is the process's only net grant). */
  url: string;
  /** The file to write (the process's only write grant). */
  out: string;
}

const WHAT = "model download process";

/** A model download process's command line, both ways. */
export const fetchModelArgv: ArgvCodec<FetchModelArgs> = {
  toArgv: (a) => [a.url, a.out],
  parseArgv: (argv) => {
    const [url, out, extra] = argv;
    if (!url || !out) {
      throw new UsageError(
        `${WHAT}: expected <url> <out>, got ${argv.length} arguments`,
      );
    }
    if (extra !== undefined) {
      throw new UsageError(`${WHAT}: unexpected argument "${extra}"`);
    }
    return { url, out };
  },
};
