/**
 * POSIX paths and `file:` URLs to and from paths, as `node:path`'s `join`,
 * `resolve`, `relative`, `isAbsolute`, `dirname` and `basename` and
 * `node:url`'s `fileURLToPath` and `pathToFileURL` compute them on POSIX
 * systems (the runtime's processes meet over Unix sockets), without loading
 * Deno's Node layer: the supervisor and the serving process's first modules
 * need only these, and the first `node:` modules of a process cost it ~4-6
 * ms of start-up on an AMD EPYC, ~11-16 ms of CPU on a 2-core Xeon (issue
 * 17). posix_path_test.ts compares them with `node:path` and `node:url` on
 * every kind of input.
 *
 * @module
 */

/** `path.posix.sep`. */
export const SEP = "/";

/** `path.posix.isAbsolute`: starts with "/". */
export function isAbsolutePath(path: string): boolean {
  return path.startsWith("/");
}

/**
 * `path.posix.resolve`: the parts from the last absolute one (else from the
 * working directory) joined and normalized, without a trailing "/".
 */
export function resolvePath(...parts: string[]): string {
  let at = parts.length - 1;
  while (at >= 0 && !parts[at]!.startsWith("/")) at--;
  const from = at >= 0 ? parts.slice(at) : [Deno.cwd(), ...parts];
  const joined = normalizePath(from.filter((p) => p.length > 0).join("/"));
  return joined.length > 1 && joined.endsWith("/")
    ? joined.slice(0, -1)
    : joined;
}

/**
 * `path.posix.relative`: the path from `from` to `to` (both resolved), ""
 * when they are the same.
 */
export function relativePath(from: string, to: string): string {
  const a = resolvePath(from).split("/").filter((s) => s !== "");
  const b = resolvePath(to).split("/").filter((s) => s !== "");
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) {
    common++;
  }
  return [...a.slice(common).map(() => ".."), ...b.slice(common)].join("/");
}

/** `path.posix.dirname`: the path without its last segment. */
export function dirnamePath(path: string): string {
  if (path.length === 0) return ".";
  const hasRoot = path.startsWith("/");
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= 1; --i) {
    if (path[i] === "/") {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else matchedSlash = false;
  }
  if (end === -1) return hasRoot ? "/" : ".";
  if (hasRoot && end === 1) return "//";
  return path.slice(0, end);
}

/** `path.posix.basename` (without its suffix argument): the last segment. */
export function basenamePath(path: string): string {
  let start = 0;
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= 0; --i) {
    if (path[i] === "/") {
      if (!matchedSlash) {
        start = i + 1;
        break;
      }
    } else if (end === -1) {
      matchedSlash = false;
      end = i + 1;
    }
  }
  return end === -1 ? "" : path.slice(start, end);
}

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
