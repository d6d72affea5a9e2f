/**
 * The serve flags, shared by `cortex serve`, the serving process it starts
 * (which receives them again, see serve_process_args.ts) and compiled
 * binaries.
 *
 * @module
 */

import type { LogLevel } from "../config/resolved_config.ts";
import { parseDuration } from "../config/duration.ts";
import {
  type ConnectionLimits,
  DEFAULT_HEADER_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  defaultMaxConnections,
} from "../http/connection_limits.ts";
import { UsageError } from "./argv.ts";
import { parseStrictArgs } from "./strict_args.ts";

// The CLI and binaries catch it from here with the serve flags.
export { UsageError };

/** Option table of the serve flags (strict_args.ts). */
export const SERVE_FLAGS = {
  port: { type: "string" },
  "grpc-port": { type: "string" },
  "control-port": { type: "string" },
  host: { type: "string" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "no-access-log": { type: "boolean" },
  "max-replicas-per-api": { type: "string" },
  "max-connections": { type: "string" },
  "header-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  api: { type: "string" },
  watch: { type: "boolean" },
  "no-check": { type: "boolean" },
  "allow-loopback-net": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function port(
  value: string | undefined,
  flag: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(
      `Option --${flag} is "${value}": expected a port number 0-65535`,
    );
  }
  return n;
}

const LEVELS = ["debug", "info", "warning", "error"];

/** Default local replica cap: two per core, at least 2. */
export function defaultReplicaCap(): number {
  return Math.max(2, 2 * (navigator.hardwareConcurrency || 1));
}

function timeout(
  value: string | undefined,
  flag: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === null || ms <= 0) {
    throw new UsageError(
      `Option --${flag} is "${value}": expected a duration above 0, e.g. 10s or 500ms`,
    );
  }
  return ms;
}

/**
 * Connection limits from the serve flags. `fdLimit` is the descriptor limit
 * of the serving process when known: the default `--max-connections` leaves
 * a quarter of it for everything else.
 */
export function connectionLimits(
  values: ServeFlagValues,
  fdLimit: number | null = null,
): ConnectionLimits {
  const max = values["max-connections"];
  const maxConnections = max === undefined
    ? defaultMaxConnections(fdLimit)
    : Number(max);
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new UsageError(
      `Option --max-connections is "${max}": expected an integer of at least 1`,
    );
  }
  return {
    maxConnections,
    headerTimeoutMs: timeout(
      values["header-timeout"],
      "header-timeout",
      DEFAULT_HEADER_TIMEOUT_MS,
    ),
    idleTimeoutMs: timeout(
      values["idle-timeout"],
      "idle-timeout",
      DEFAULT_IDLE_TIMEOUT_MS,
    ),
  };
}

/** What the serve flags set, checked (the server's options take these). */
export interface ServeSettings {
  hostname: string;
  port: number;
  grpcPort: number;
  controlPort: number;
  logLevel: LogLevel;
  logFormat: "json" | "pretty";
  accessLog: boolean;
  maxReplicasPerApi: number;
  limits: ConnectionLimits;
  /** Serve only this API, or all when null. */
  onlyApi: string | null;
  watch: boolean;
  allowLoopbackNet: boolean;
  noCheck: boolean;
}

/** The serve flags as {@linkcode parseServeArgs} returns them. */
export type ServeFlagValues = ReturnType<typeof parseServeArgs>["values"];

/** Turns parsed serve flags into checked settings. */
export function serveOptions(
  values: ServeFlagValues,
  fdLimit: number | null = null,
): ServeSettings {
  const level = values["log-level"] ?? "info";
  if (!LEVELS.includes(level)) {
    throw new UsageError(
      `Option --log-level is "${level}": expected one of ${LEVELS.join(", ")}`,
    );
  }
  const format = values["log-format"] ?? "json";
  if (format !== "json" && format !== "pretty") {
    throw new UsageError(
      `Option --log-format is "${format}": expected "json" or "pretty"`,
    );
  }
  const cap = values["max-replicas-per-api"];
  const maxReplicas = cap === undefined ? defaultReplicaCap() : Number(cap);
  if (!Number.isInteger(maxReplicas) || maxReplicas < 1) {
    throw new UsageError(
      `Option --max-replicas-per-api is "${cap}": expected an integer of at least 1`,
    );
  }
  return {
    hostname: values.host ?? "0.0.0.0",
    port: port(values.port, "port", 8888),
    grpcPort: port(values["grpc-port"], "grpc-port", 9000),
    controlPort: port(values["control-port"], "control-port", 0),
    logLevel: level as LogLevel,
    logFormat: format,
    accessLog: !values["no-access-log"],
    maxReplicasPerApi: maxReplicas,
    limits: connectionLimits(values, fdLimit),
    onlyApi: values.api ?? Deno.env.get("CORTEX_API") ?? null,
    watch: values.watch ?? false,
    allowLoopbackNet: values["allow-loopback-net"] ?? false,
    noCheck: values["no-check"] ?? false,
  };
}

/** Parses `[dir] [serve flags]`. */
export function parseServeArgs(args: string[]) {
  try {
    return parseStrictArgs(args, SERVE_FLAGS);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The arguments that {@linkcode parseServeArgs} reads back as `values`. */
export function serveFlagsToArgv(values: ServeFlagValues): string[] {
  const argv: string[] = [];
  for (const [flag, spec] of Object.entries(SERVE_FLAGS)) {
    const value = values[flag as keyof ServeFlagValues];
    if (spec.type === "boolean" && value === true) argv.push(`--${flag}`);
    if (spec.type === "string" && typeof value === "string") {
      argv.push(`--${flag}=${value}`);
    }
  }
  return argv;
}
