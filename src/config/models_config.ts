/**
 * Validation of `handler.models` (Cortex's `multi_model_reloading` shapes:
 * `path`, `paths` or `dir`, plus `cache_size`) and `handler.warmup`.
 *
 * @module
 */

import type { FieldReader } from "./field_reader.ts";
import type {
  ModelPath,
  ModelsConfig,
  WarmupConfig,
} from "./resolved_config.ts";
import { toPlain } from "./yaml_tree.ts";
import { normaliseProjectPath } from "./value_checks.ts";

const MODELS_KEYS = [
  "path",
  "paths",
  "dir",
  "sha256",
  "cache_size",
  "poll_interval",
] as const;
const PATH_ENTRY_KEYS = ["name", "path", "sha256"] as const;
const WARMUP_KEYS = ["payload", "count"] as const;

/** Default of `models.poll_interval` (Cortex polls every 10 s). */
export const MODELS_POLL_DEFAULT_MS = 10_000;

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;
const PATH_HINT =
  "expected a project file (relative path) or an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])";
const SHAPE_HINT = "set exactly one of models.path, models.paths or models.dir";

/** The name `ctx.models.get()` uses for `models.path`. */
export const DEFAULT_MODEL_NAME = "default";

/** True for hosts `http://` is accepted for (tests serve models locally). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** A model path that is a URL (to download before serving). */
export function isModelUrl(path: string): boolean {
  return path.startsWith("https://") || path.startsWith("http://");
}

/**
 * Checks one model path: a URL (https, or http on loopback) or a project
 * file. Returns the normalised form, or null with the problem.
 */
export function modelPathProblem(
  path: string,
  files: ReadonlySet<string>,
): { path: string } | { problem: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    let url: URL;
    try {
      url = new URL(path);
    } catch {
      return { problem: PATH_HINT };
    }
    if (url.protocol === "https:") return { path: url.href };
    if (url.protocol === "http:" && isLoopbackHost(url.hostname)) {
      return { path: url.href };
    }
    return { problem: PATH_HINT };
  }
  const rel = normaliseProjectPath(path);
  if (rel === null) {
    return {
      problem: "must be a path inside the project directory, relative to it",
    };
  }
  if (!files.has(rel)) {
    return {
      problem:
        "no such file in the project (files excluded by .cortexignore are not part of it)",
    };
  }
  return { path: rel };
}

/** Reads `handler.models`; undefined when unset or invalid. */
export function readModels(
  r: FieldReader,
  files: ReadonlySet<string>,
): ModelsConfig | undefined {
  if (!r.has("models")) return undefined;
  const m = r.section("models");
  if (m.map === null) return undefined;
  m.checkKeys(MODELS_KEYS);
  const shapes = (["path", "paths", "dir"] as const).filter((k) => m.has(k));
  if (shapes.length === 0) {
    m.fail("path", "is not set: " + SHAPE_HINT, m.line);
    return undefined;
  }
  if (shapes.length > 1) {
    const extra = shapes[1]!;
    m.reject(extra, m.node(extra)!, "is set too: " + SHAPE_HINT);
    return undefined;
  }
  const cacheSize = m.integer("cache_size", { min: 1 }) ?? null;
  const pollIntervalMs = m.duration("poll_interval", { above: 0 }) ??
    MODELS_POLL_DEFAULT_MS;
  const paths: ModelPath[] = [];
  let dir: string | null = null;
  if (m.has("sha256") && shapes[0] !== "path") {
    m.reject(
      "sha256",
      m.node("sha256")!,
      "only used with models.path; give each models.paths entry its own sha256",
    );
  }
  if (shapes[0] === "path") {
    const path = readModelPath(m, "path", files);
    const sha256 = readSha(m, "sha256");
    if (path !== undefined) {
      paths.push({ name: DEFAULT_MODEL_NAME, path, sha256 });
    }
  } else if (shapes[0] === "paths") {
    const list = m.list("paths");
    const seen = new Set<string>();
    list?.items.forEach((_item, i) => {
      const e = m.item("paths", i);
      e.checkKeys(PATH_ENTRY_KEYS);
      e.require("name", "expected a model name");
      e.require("path", PATH_HINT);
      const name = e.string("name");
      let fresh = false;
      if (name !== undefined) {
        if (!MODEL_NAME.test(name)) {
          e.reject(
            "name",
            e.node("name")!,
            'expected letters, digits, "_", "." or "-", starting with a letter or digit',
          );
        } else if (seen.has(name)) {
          e.reject(
            "name",
            e.node("name")!,
            "is already the name of another model",
          );
        } else {
          seen.add(name);
          fresh = true;
        }
      }
      const path = readModelPath(e, "path", files);
      const sha256 = readSha(e, "sha256");
      if (name !== undefined && path !== undefined && fresh) {
        paths.push({ name, path, sha256 });
      }
    });
    if (list !== undefined && list.items.length === 0) {
      m.reject("paths", list, "expected at least one { name, path } entry");
    }
  } else {
    const raw = m.string("dir");
    if (raw !== undefined) {
      const rel = normaliseProjectPath(raw);
      if (rel === null) {
        m.reject(
          "dir",
          m.node("dir")!,
          "must be a folder inside the project directory, relative to it",
        );
      } else if (![...files].some((f) => f.startsWith(rel + "/"))) {
        m.reject(
          "dir",
          m.node("dir")!,
          "no such folder in the project, or it holds no files: expected one sub-folder per model, with integer version folders in each",
        );
      } else dir = rel;
    }
  }
  if (paths.length === 0 && dir === null) return undefined;
  return { paths, dir, cacheSize, pollIntervalMs };
}

function readModelPath(
  r: FieldReader,
  key: string,
  files: ReadonlySet<string>,
): string | undefined {
  const node = r.node(key);
  const raw = r.string(key);
  if (raw === undefined || node === undefined) return undefined;
  const checked = modelPathProblem(raw, files);
  if ("problem" in checked) {
    r.reject(key, node, checked.problem);
    return undefined;
  }
  return checked.path;
}

function readSha(r: FieldReader, key: string): string | null {
  const node = r.node(key);
  if (node === undefined) return null;
  if (node.kind !== "scalar" || typeof node.value !== "string") {
    r.reject(
      key,
      node,
      "expected 64 hexadecimal digits as a string (quote it in YAML)",
    );
    return null;
  }
  const raw = node.value;
  if (!SHA256.test(raw)) {
    r.reject(key, node, "expected 64 hexadecimal digits (a SHA-256)");
    return null;
  }
  return raw.toLowerCase();
}

/** Reads `handler.warmup`; undefined when unset or invalid. */
export function readWarmup(r: FieldReader): WarmupConfig | undefined {
  if (!r.has("warmup")) return undefined;
  const w = r.section("warmup");
  if (w.map === null) return undefined;
  w.checkKeys(WARMUP_KEYS);
  const count = w.integer("count", { min: 1, max: 10_000 }) ?? 1;
  const node = w.node("payload");
  const payload = node === undefined ? null : toPlain(node);
  return { payload, count };
}
