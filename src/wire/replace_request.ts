/**
 * How the serving process asks the supervisor to replace it: it can write
 * only inside its scratch root, so it writes a request file there (one per
 * generation, named by the supervisor with `--replace-request`), which the
 * supervisor polls, and then starts a new serving process before draining
 * the old one. It was written when a replica's Worker was stuck in a
 * synchronous loop (Deno cannot stop one: denoland/deno#35657); replicas are
 * processes now and are killed instead, so no serving-process code writes it
 * any more: only tests do (tests/_supervisor.ts), to exercise the rolling
 * replacement.
 *
 * @module
 */

/** How often the supervisor looks for a request. */
export const REPLACE_POLL_MS = 250;

/** The request file of one generation, in its directory. */
export function replaceRequestPath(genDir: string): string {
  return `${genDir}/replace-request`;
}

/** Writes a replacement request (serving process side). */
export async function requestReplacement(
  path: string,
  reason: string,
): Promise<void> {
  // Written whole, then renamed: the supervisor never reads half of it.
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify({ reason, pid: Deno.pid }));
  await Deno.rename(tmp, path);
}

/**
 * Polls `path` (supervisor side) until `signal` aborts; calls `onRequest`
 * with the reason of each request found, after removing the file.
 */
export async function watchReplaceRequests(
  path: string,
  signal: AbortSignal,
  onRequest: (reason: string) => void,
  everyMs = REPLACE_POLL_MS,
): Promise<void> {
  while (!signal.aborted) {
    let text: string | null = null;
    try {
      text = await Deno.readTextFile(path);
      await Deno.remove(path);
    } catch {
      // None yet.
    }
    if (text !== null) onRequest(reasonOf(text));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, everyMs);
      signal.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
  }
}

function reasonOf(text: string): string {
  try {
    const reason = JSON.parse(text)?.reason;
    if (typeof reason === "string" && reason !== "") return reason;
  } catch {
    // Not JSON: still a request.
  }
  return "replacement requested";
}
