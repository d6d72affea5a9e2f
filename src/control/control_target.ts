/**
 * What the control API needs from a running server. The server implements
 * {@linkcode ControlTarget}; tests use a fake one.
 *
 * @module
 */

import type { ApiDescription } from "./client.ts";
import type { ApiConfig, Project } from "../config/resolved_config.ts";
import type { NetRules } from "../config/net_rules.ts";

/** `cortex get` status of an API. */
export type ApiStatus = "live" | "updating" | "error";

/** A tap on the server's log stream: every JSON log line it writes. */
export interface LogTap {
  /**
   * Calls `fn` with each log line (no trailing newline) from now on.
   *
   * @returns A function that ends the subscription.
   */
  subscribe(fn: (line: string) => void): () => void;
  /** The most recent lines, oldest first, when the tap keeps a history. */
  recent?(): readonly string[];
}

/**
 * The state of one API as the server sees it now: what `cortex get` shows
 * (see {@linkcode ApiDescription}), with the configuration the API runs with
 * (the latest one during a roll-out) in place of its name, kind and spec.
 */
export type ApiSnapshot =
  & Omit<ApiDescription, "name" | "kind" | "spec">
  & { config: ApiConfig };

/**
 * The server side of the control API. Mutating methods resolve once the
 * change is accepted; a roll-out continues in the background and shows as
 * status "updating". They may throw a `ControlError` (from `client.ts`) to
 * answer with its status.
 */
export interface ControlTarget {
  /** The served project: YAML specs are checked against its files. */
  project(): Pick<Project, "dir" | "files">;
  /** Every API, in a stable order. */
  list(): ApiSnapshot[];
  /** One API, or null when none has that name. */
  get(name: string): ApiSnapshot | null;
  /**
   * Starts new APIs (a new pool) and rolls out updated ones (`pool.rollOut`),
   * so in-flight requests of the old version finish.
   *
   * @param apis Validated configurations; names may be new or existing.
   * @param project The reloaded project when a directory was deployed (new
   *   code, files or .env), or null for a YAML spec of the served project.
   */
  deploy(apis: ApiConfig[], project: Project | null): Promise<void>;
  /** Applies a validated configuration of an existing API in place. */
  patch(name: string, api: ApiConfig): Promise<void>;
  /** Restarts an API's replicas: a roll-out with the same configuration. */
  refresh(name: string): Promise<void>;
  /** Stops an API (its in-flight requests finish) and stops routing to it. */
  delete(name: string): Promise<void>;
  /** The server's log stream. */
  logs: LogTap;
  /**
   * The server's `allow_net` rules (loopback, its own ports), applied to
   * every deployed or patched API; without it only the form is checked.
   */
  netRules?(): NetRules;
}
