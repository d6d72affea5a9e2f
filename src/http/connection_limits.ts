/**
 * The connection limits of a listener and their defaults, apart from the
 * listener itself (src/http/guarded_server.ts, which re-exports them): the
 * command-line options (src/wire/serve_options.ts) need only these, and
 * loading the listener costs ~4 ms of a process's start (issue 17).
 *
 * @module
 */

/** Limits of one listener. */
export interface ConnectionLimits {
  /** Open connections at most; a connection beyond it is closed at once. */
  maxConnections: number;
  /** How long a new connection may take to send its first request's headers. */
  headerTimeoutMs: number;
  /** How long a kept-alive connection may wait for its next request. */
  idleTimeoutMs: number;
}

/** Default header timeout (10 s). */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;
/** Default idle keep-alive timeout (60 s). */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/**
 * Descriptors kept for everything but client connections: replicas'
 * channels, the gRPC bridge, log pipes, files and handlers' outbound
 * connections. A quarter of the limit, at least 64.
 */
export function reservedDescriptors(fdLimit: number): number {
  return Math.max(64, Math.floor(fdLimit / 4));
}

/** When the descriptor limit cannot be read: a common hard limit. */
export const FALLBACK_FD_LIMIT = 4096;

/** The default `--max-connections` for a process with `fdLimit` descriptors. */
export function defaultMaxConnections(fdLimit: number | null): number {
  const limit = fdLimit ?? FALLBACK_FD_LIMIT;
  return Math.max(16, limit - reservedDescriptors(limit));
}

/** Limits when none are given: the defaults for an unknown descriptor limit. */
export const DEFAULT_LIMITS: ConnectionLimits = {
  maxConnections: defaultMaxConnections(null),
  headerTimeoutMs: DEFAULT_HEADER_TIMEOUT_MS,
  idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
};
