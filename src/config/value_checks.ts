/**
 * Checks of single values used by several sections: project-relative paths.
 * (`allow_net` entries: src/config/net_rules.ts.)
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

/** Lower-case DNS-1035 label: an API name becomes the host name `api-<name>`. */
const API_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Longest API name. */
export const MAX_API_NAME_LENGTH = 42;

/** True when `name` is a valid API name. */
export function isApiName(name: string): boolean {
  return name.length <= MAX_API_NAME_LENGTH && API_NAME.test(name);
}
