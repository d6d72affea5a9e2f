/**
 * `networking.cors`, `networking.auth` and `networking.rate_limit` of an API
 * (what src/edge/ enforces).
 *
 * @module
 */

import type { FieldReader } from "./field_reader.ts";
import type {
  AuthConfig,
  CorsConfig,
  RateLimitConfig,
} from "./resolved_config.ts";

/** Default `Access-Control-Max-Age` (seconds), as Cortex's proxy. */
export const DEFAULT_CORS_MAX_AGE = 600;

const ORIGIN_HINT =
  'expected "*", an origin such as "https://app.example.com" or a pattern such as "https://*.example.com"';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const AUTH_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/** An origin (scheme://host[:port]) or a `scheme://*.domain[:port]` pattern. */
export function isOriginPattern(value: string): boolean {
  if (value === "*") return true;
  const m = /^(https?):\/\/(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*)(:\d{1,5})?$/
    .exec(value);
  return m !== null;
}

/** Reads `networking.cors`: unset gives undefined (the default policy). */
export function readCors(r: FieldReader): CorsConfig | false | undefined {
  const node = r.node("cors");
  if (node === undefined) return undefined;
  if (node.kind === "scalar" && node.value === false) return false;
  if (node.kind !== "map") {
    r.reject("cors", node, "expected a mapping or false");
    return undefined;
  }
  const c = r.section("cors");
  c.checkKeys([
    "allow_origins",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "max_age",
  ]);
  const allowOrigins = stringList(
    c,
    "allow_origins",
    (v) => isOriginPattern(v) ? null : ORIGIN_HINT,
  ) ?? ["*"];
  const header = (v: string) =>
    HEADER_NAME.test(v) ? null : "expected an HTTP header name";
  const allowHeaders = stringList(c, "allow_headers", header);
  const exposeHeaders = stringList(c, "expose_headers", header) ?? [];
  const allowCredentials = c.boolean("allow_credentials") ?? false;
  const maxAge = c.integer("max_age", { min: 0, max: 86_400 }) ??
    DEFAULT_CORS_MAX_AGE;
  if (allowCredentials && allowOrigins.includes("*")) {
    c.reject(
      "allow_credentials",
      c.node("allow_credentials")!,
      'cannot be combined with allow_origins "*" (the Fetch standard forbids a wildcard origin with credentials): list the origins',
    );
  }
  const lower = (l: string[]) => [...new Set(l.map((h) => h.toLowerCase()))];
  return {
    allowOrigins,
    allowHeaders: allowHeaders ? lower(allowHeaders) : null,
    exposeHeaders: lower(["x-request-id", ...exposeHeaders]),
    allowCredentials,
    maxAge,
  };
}

/** Reads `networking.auth`; keys never appear in cortex.yaml. */
export function readAuth(
  r: FieldReader,
  files: ReadonlySet<string>,
): AuthConfig | undefined {
  if (!r.has("auth")) return undefined;
  const a = r.section("auth");
  a.checkKeys(["keys_env", "keys_file", "methods"]);
  const keysEnv = a.string("keys_env") ?? null;
  if (keysEnv !== null && !ENV_NAME.test(keysEnv)) {
    a.reject(
      "keys_env",
      a.node("keys_env")!,
      "expected the name of an environment variable (letters, digits, _)",
    );
  }
  const keysFile = a.string("keys_file") ?? null;
  if (keysFile !== null && !files.has(keysFile.replace(/^\.\//, ""))) {
    a.reject(
      "keys_file",
      a.node("keys_file")!,
      "expected a file of the project (a path relative to cortex.yaml)",
    );
  }
  if (keysEnv === null && keysFile === null && a.map !== null) {
    a.fail(
      "keys_env",
      "is missing: set keys_env (a variable of comma-separated keys) or keys_file (a file of SHA-256 hashes); keys never go in cortex.yaml",
    );
  }
  const methods = stringList(
    a,
    "methods",
    (v) =>
      AUTH_METHODS.includes(v.toUpperCase())
        ? null
        : `expected one of ${AUTH_METHODS.join(", ")}`,
  );
  return {
    keysEnv,
    keysFile: keysFile?.replace(/^\.\//, "") ?? null,
    methods: methods ? [...new Set(methods.map((m) => m.toUpperCase()))] : null,
  };
}

/** Reads `networking.rate_limit`. */
export function readRateLimit(
  r: FieldReader,
  auth: AuthConfig | undefined,
): RateLimitConfig | undefined {
  if (!r.has("rate_limit")) return undefined;
  const l = r.section("rate_limit");
  l.checkKeys(["rps", "burst", "per"]);
  if (l.map !== null) l.require("rps", "expected requests per second");
  const rps = l.number("rps", { above: 0, max: 1_000_000 });
  const burst = l.integer("burst", { min: 1, max: 1_000_000 });
  const per = l.oneOf("per", ["api", "key", "client"] as const) ?? "api";
  if (per === "key" && auth === undefined) {
    l.reject(
      "per",
      l.node("per")!,
      "needs networking.auth (requests are counted per API key)",
    );
  }
  if (rps === undefined) return undefined;
  return { rps, burst: burst ?? Math.max(1, Math.ceil(rps)), per };
}

/** A list of strings, each checked by `problem`; undefined when unset. */
function stringList(
  r: FieldReader,
  key: string,
  problem: (v: string) => string | null,
): string[] | undefined {
  const list = r.list(key);
  if (list === undefined) return undefined;
  const out: string[] = [];
  list.items.forEach((item, i) => {
    const k = `${key}[${i}]`;
    if (item.kind !== "scalar" || typeof item.value !== "string") {
      r.reject(k, item, "expected a string");
      return;
    }
    const why = problem(item.value);
    if (why !== null) r.reject(k, item, why);
    else out.push(item.value);
  });
  return out;
}
