/**
 * POSIX path joins and `file:` URLs to and from paths, as `node:path`'s
 * `join` and `node:url`'s `fileURLToPath` and `pathToFileURL` compute them
 * on POSIX systems (the runtime's
 * processes meet over Unix sockets), without loading Deno's Node layer:
 * the supervisor's first step and the serving process's first modules need
 * only these two, and each `node:` module cost them ~4-6 ms of start-up
 * (issue 17). posix_path_test.ts compares them with `node:path` and
 * `node:url` on every kind of input.
 *
 * @module
 */

/** `path.posix.join`: the parts joined by "/", then normalized. */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p.length > 0).join("/");
  return joined === "" ? "." : normalizePath(joined);
}

/** `path.posix.normalize`: no ".", "..", or repeated "/" left inside. */
function normalizePath(path: string): string {
  const absolute = path.startsWith("/");
  const trailing = path.endsWith("/");
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment !== "..") out.push(segment);
    else if (out.length > 0 && out.at(-1) !== "..") out.pop();
    else if (!absolute) out.push("..");
  }
  let result = out.join("/");
  if (result === "" && !absolute) result = ".";
  if (result !== "" && trailing) result += "/";
  return absolute ? `/${result}` : result;
}

/**
 * `pathToFileURL` on POSIX: the `file:` URL of `path` (resolved against
 * the working directory when relative), with the characters Node encodes
 * in a path (`%`, `\`, tab, line breaks, `"`, `#`, space, `?`, `[`, `]`,
 * `^`, `|`, `~`) percent-encoded, the rest as the URL parser encodes it.
 */
export function fileUrl(path: string): URL {
  let resolved = path.startsWith("/")
    ? joinPath(path)
    : joinPath(Deno.cwd(), path);
  // Resolving drops a trailing "/", which names a directory: kept.
  if (path.endsWith("/") && !resolved.endsWith("/")) resolved += "/";
  const encoded = resolved.replace(
    /[%\\\n\r\t"# ?[\]^|~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
  );
  return new URL(`file://${encoded}`);
}

/**
 * `fileURLToPath` on POSIX: the decoded path of a `file:` URL without a
 * host; a TypeError for any other URL or an encoded "/" in the path.
 */
export function filePath(url: URL | string): string {
  const u = typeof url === "string" ? new URL(url) : url;
  if (u.protocol !== "file:") {
    throw new TypeError(`The URL must be of scheme file: ${u.href}`);
  }
  if (u.hostname !== "") {
    throw new TypeError(
      `File URL host must be "localhost" or empty: ${u.href}`,
    );
  }
  if (/%2f/i.test(u.pathname)) {
    throw new TypeError(
      `File URL path must not include encoded / characters: ${u.href}`,
    );
  }
  return decodeURIComponent(u.pathname);
}
