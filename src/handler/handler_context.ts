/**
 * The types a handler author sees: what the constructor and the methods get.
 *
 * @module
 */

import type { CortexClient } from "../control/client.ts";

/** Structured logger passed to handlers as `ctx.logger`. */
export interface HandlerLogger {
  /** Logs at DEBUG; `extra` is flattened one level into the JSON line. */
  debug(message: string, opts?: { extra?: Record<string, unknown> }): void;
  /** Logs at INFO. */
  info(message: string, opts?: { extra?: Record<string, unknown> }): void;
  /** Logs at WARNING. */
  warning(message: string, opts?: { extra?: Record<string, unknown> }): void;
  /** Logs at ERROR. */
  error(message: string, opts?: { extra?: Record<string, unknown> }): void;
  /** Logs at ERROR with the error's stack under `exc_info`. */
  exception(
    message: string,
    error: unknown,
    opts?: { extra?: Record<string, unknown> },
  ): void;
}

/** Custom metrics, exposed on `GET /metrics` next to the runtime's own. */
export interface MetricsClient {
  /** Sets a gauge. Names must not start with `cortex_`. */
  gauge(name: string, value: number, tags?: Record<string, string>): void;
  /** Adds `value` (default 1) to a counter. */
  increment(name: string, value?: number, tags?: Record<string, string>): void;
  /** Observes a value in a histogram. */
  histogram(name: string, value: number, tags?: Record<string, string>): void;
}

/** Which API and replica the handler runs as. */
export interface ApiInfo {
  /** The API's `name` from cortex.yaml. */
  name: string;
  /** Always `"RealtimeAPI"`. */
  kind: string;
  /** The HTTP path the API is served on, e.g. `/iris`. */
  endpoint: string;
  /** Identifies this replica in logs and metrics. */
  replicaId: string;
}

/** The second argument of a handler's constructor. */
export interface HandlerContext {
  /** Structured JSON logger labelled with the API and replica. */
  logger: HandlerLogger;
  /**
   * The Cortex client for the running server, or null outside one. The
   * runtime carries its calls (no token, no network) under this API's
   * policy: reading APIs (`get`, `list`, `handler.env` values hidden) by
   * default; `logs`, `patch`, `refresh`, `delete`, `deploy` and the env
   * values only for the APIs that `handler.control` in cortex.yaml names.
   * Refused calls throw a `ControlError` with status 403.
   */
  client: CortexClient | null;
  /** Custom metrics. */
  metrics: MetricsClient;
  /** The API this handler serves. */
  api: ApiInfo;
  /** Absolute path of the project directory (also the working directory). */
  projectDir: string;
  /** The one directory the handler may write to; private to this replica. */
  scratchDir: string;
  /** The models of `handler.models`, loaded by the handler's `loadModel`. */
  models: ModelsClient;
}

/**
 * `ctx.models`: the models `handler.models` lists in cortex.yaml, each
 * loaded once by the handler's `loadModel(path, { name, version })` and
 * kept in an LRU of `cache_size`.
 */
export interface ModelsClient {
  /**
   * The model `name` (omitted: the only one; `models.path` is "default") at
   * `version` ("latest", the default, is the highest `dir` version), loaded
   * on first use and again when its files change on disk.
   */
  get<T = unknown>(name?: string, version?: string | number): Promise<T>;
  /** The model names. */
  names(): string[];
  /** A model's versions, lowest first ("1" for `path` and `paths` models). */
  versions(name: string): Promise<string[]> | string[];
}

/** The second argument of `handlePost`, `handleGet`, etc. */
export interface RequestInfo {
  /** HTTP method, upper case. */
  method: string;
  /** The full request URL. */
  url: string;
  /** Query parameters. */
  query: URLSearchParams;
  /** Request headers. */
  headers: Headers;
  /** The id sent back in `x-request-id` and written in log lines. */
  requestId: string;
  /**
   * The trace id of the request's W3C `traceparent` header, or null when it
   * came without one (chained calls pass the trace on).
   */
  traceId: string | null;
  /** Aborts when the client disconnects or the request times out. */
  signal: AbortSignal;
  /** A logger whose lines carry this request's id. */
  logger: HandlerLogger;
}
