/**
 * A fake {@linkcode ControlTarget} for the control API tests: APIs in a map,
 * every call recorded.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseApiConfigs } from "../config/parse_api_configs.ts";
import type { ApiConfig, Project } from "../config/resolved_config.ts";
import type { NetRules } from "../config/net_rules.ts";
import type { ApiSnapshot, ControlTarget } from "./control_target.ts";
import { LogFanout } from "./log_tap.ts";

/** A token for tests (long enough for CORTEX_CONTROL_TOKEN). */
export const TEST_TOKEN = "test-token-0123456789abcdef";

/** A valid project directory: APIs "iris" and "echo". */
export const FIXTURE: string = fileURLToPath(
  new URL("../../tests/fixtures/control", import.meta.url),
);

/** A project whose cortex.yaml is invalid at line 5. */
export const BAD_FIXTURE: string = fileURLToPath(
  new URL("../../tests/fixtures/control_bad", import.meta.url),
);

/** The sample HTTP API of {@linkcode sampleTarget}. */
export const IRIS_YAML =
  "name: iris\nhandler: { path: handler.ts }\nautoscaling: { max_replicas: 4 }";

const GRPC_YAML =
  "name: grpc\nhandler: { path: handler.ts, protobuf_path: api.proto }";

/**
 * A target with "iris" (live, 2/2 replicas, 3 in flight, 1 queued) and
 * "grpc" (error: the constructor failed).
 */
export function sampleTarget(): FakeTarget {
  return new FakeTarget([
    fakeSnapshot(fakeApi(IRIS_YAML), {
      replicas: { ready: 2, desired: 2, cap: 4 },
      inFlight: 3,
      queued: 1,
    }),
    fakeSnapshot(fakeApi(GRPC_YAML), {
      status: "error",
      error: "Handler constructor failed: boom",
    }),
  ]);
}

/** Files of the fake served project. */
export const FAKE_FILES: readonly string[] = ["handler.ts", "api.proto"];

/** Parses one API for the fake project. */
export function fakeApi(yaml: string): ApiConfig {
  return parseApiConfigs(yaml, "cortex.yaml", new Set(FAKE_FILES))[0]!;
}

/** A snapshot with sensible numbers for `config`. */
export function fakeSnapshot(
  config: ApiConfig,
  over: Partial<ApiSnapshot> = {},
): ApiSnapshot {
  return {
    config,
    status: "live",
    error: null,
    replicas: {
      ready: 1,
      desired: 1,
      cap: Math.min(config.autoscaling.maxReplicas, 4),
    },
    inFlight: 0,
    queued: 0,
    restarts: 0,
    endpoint: config.handler.protobufPath === null
      ? `http://localhost:8888${config.networking.endpoint}`
      : "grpc://localhost:9000",
    ...over,
  };
}

/** One recorded call. */
export type FakeCall =
  | { op: "deploy"; names: string[]; projectDir: string | null }
  | { op: "patch"; name: string; api: ApiConfig }
  | { op: "refresh" | "delete"; name: string };

/** A ControlTarget over a map of snapshots. */
export class FakeTarget implements ControlTarget {
  readonly apis = new Map<string, ApiSnapshot>();
  readonly calls: FakeCall[] = [];
  readonly logs: LogFanout = new LogFanout();
  /** When set, every mutating call throws it. */
  failWith: Error | null = null;
  /** The server's allow_net rules, when a test sets them. */
  netRules?: () => NetRules;

  constructor(snapshots: ApiSnapshot[] = []) {
    for (const s of snapshots) this.apis.set(s.config.name, s);
  }

  project(): Pick<Project, "dir" | "files"> {
    return { dir: "/fake", files: [...FAKE_FILES] };
  }

  list(): ApiSnapshot[] {
    return [...this.apis.values()];
  }

  get(name: string): ApiSnapshot | null {
    return this.apis.get(name) ?? null;
  }

  deploy(apis: ApiConfig[], project: Project | null): Promise<void> {
    this.#check();
    this.calls.push({
      op: "deploy",
      names: apis.map((a) => a.name),
      projectDir: project?.dir ?? null,
    });
    for (const api of apis) {
      this.apis.set(
        api.name,
        fakeSnapshot(api, {
          status: "updating",
          replicas: { ready: 0, desired: 1, cap: 4 },
        }),
      );
    }
    return Promise.resolve();
  }

  patch(name: string, api: ApiConfig): Promise<void> {
    this.#check();
    this.calls.push({ op: "patch", name, api });
    this.apis.set(name, { ...this.apis.get(name)!, config: api });
    return Promise.resolve();
  }

  refresh(name: string): Promise<void> {
    this.#check();
    this.calls.push({ op: "refresh", name });
    return Promise.resolve();
  }

  delete(name: string): Promise<void> {
    this.#check();
    this.calls.push({ op: "delete", name });
    this.apis.delete(name);
    return Promise.resolve();
  }

  #check(): void {
    if (this.failWith) throw this.failWith;
  }
}
