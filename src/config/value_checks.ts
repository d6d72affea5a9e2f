/**
 * Checks of single values used by several sections: project-relative paths
 * and `allow_net` hosts.
 *
 * @module
 */

import type { FieldReader } from "./field_reader.ts";

/** What `checkProjectPath` needs to know. */
export interface ProjectPathRule {
  path: string;
  /** Project files, relative POSIX paths. */
  files: ReadonlySet<string>;
  /** Allowed extensions, with the dot. */
  extensions: readonly string[];
  /** What is expected, for messages ("expected a .proto file"). */
  hint: string;
}

/**
 * Normalises a path relative to the project directory ("./a//b.ts" →
 * "a/b.ts"). Returns null when it is absolute or leaves the directory.
 */
export function normaliseProjectPath(path: string): string | null {
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) return null;
  const parts: string[] = [];
  for (const part of path.replaceAll("\\", "/").split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.pop() === undefined) return null;
    } else {
      parts.push(part);
    }
  }
  return parts.length === 0 ? null : parts.join("/");
}

/**
 * Checks that `rule.path` names a project file with an allowed extension.
 * Returns the normalised path, or undefined after recording an issue.
 */
export function checkProjectPath(
  r: FieldReader,
  key: string,
  rule: ProjectPathRule,
): string | undefined {
  const node = r.node(key);
  if (node === undefined) return undefined;
  const path = normaliseProjectPath(rule.path);
  if (path === null) {
    r.reject(
      key,
      node,
      "must be a path inside the project directory, relative to it",
    );
    return undefined;
  }
  if (!rule.extensions.some((ext) => path.endsWith(ext))) {
    r.reject(key, node, rule.hint);
    return undefined;
  }
  if (!rule.files.has(path)) {
    const hidden = path.split("/").some((part) => part.startsWith("."));
    r.reject(
      key,
      node,
      hidden
        ? "dotfiles and files in dot-folders are not part of the project"
        : "no such file in the project (files excluded by .cortexignore are not part of it)",
    );
    return undefined;
  }
  return path;
}

const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const HOST_HINT = 'expected "host" or "host:port", e.g. "example.com:443"';

/** Returns why `text` is not a valid allow_net entry, or null when it is. */
export function checkHost(text: string): string | null {
  let host: string;
  let port: string | undefined;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1] ?? "";
    port = bracketed[2];
  } else {
    const match = /^([^:]+)(?::([^:]*))?$/.exec(text);
    if (match === null) {
      return text.includes("::")
        ? 'expected an IPv6 address in brackets, e.g. "[::1]:8080"'
        : HOST_HINT;
    }
    host = match[1] ?? "";
    port = match[2];
    if (host.length > 253 || !host.split(".").every((l) => LABEL.test(l))) {
      return HOST_HINT;
    }
    if (/^[\d.]+$/.test(host) && !isIpv4(host)) return HOST_HINT;
  }
  if (port === undefined) return null;
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
    return "the port must be an integer from 1 to 65535";
  }
  return null;
}

function isIpv4(host: string): boolean {
  const parts = host.split(".");
  return parts.length === 4 &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
