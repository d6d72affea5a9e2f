/**
 * Validation of the `handler` section of one API.
 *
 * @module
 */

import type { FieldReader } from "./field_reader.ts";
import type {
  BatchingConfig,
  ControlGrants,
  HandlerConfig,
  LogLevel,
} from "./resolved_config.ts";
import { toPlain } from "./yaml_tree.ts";
import { noControlGrants } from "./no_control_grants.ts";

export { noControlGrants };
import { parseByteSize } from "./quantity.ts";
import { checkProjectPath, isApiName } from "./value_checks.ts";
import { readModels, readWarmup } from "./models_config.ts";
import { NET_ENTRY_HINT, netEntryProblem, type NetRules } from "./net_rules.ts";

const HANDLER_KEYS = [
  "type",
  "path",
  "protobuf_path",
  "config",
  "env",
  "log_level",
  "processes_per_replica",
  "threads_per_process",
  "server_side_batching",
  "request_timeout",
  "max_body_size",
  "allow_net",
  "control",
  "shutdown_grace_period",
  "startup_timeout",
  "access_log",
  "stream_timeout",
  "sse_heartbeat",
  "models",
  "warmup",
] as const;

/** `handler.control` keys, as written in cortex.yaml, and their field. */
export const CONTROL_KEYS = {
  read_env: "readEnv",
  logs: "logs",
  patch: "patch",
  refresh: "refresh",
  delete: "delete",
  deploy: "deploy",
} as const satisfies Record<string, keyof ControlGrants>;

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warning", "error"];
const HANDLER_EXTENSIONS = [".ts", ".js", ".mts", ".mjs"];
const PATH_HINT = "expected a .ts, .js, .mts or .mjs file";
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Defaults of our own handler fields. */
export const HANDLER_DEFAULTS = {
  requestTimeoutMs: 60_000,
  maxBodyBytes: 32 * 1024 * 1024,
  shutdownGracePeriodMs: 30_000,
  startupTimeoutMs: 120_000,
} as const;

/**
 * Reads `handler.*`; issues go to the reader's list.
 *
 * @param net The server's `allow_net` rules, when a server will run it.
 */
export function readHandler(
  r: FieldReader,
  projectFiles: ReadonlySet<string>,
  net?: NetRules,
): HandlerConfig {
  r.checkKeys(HANDLER_KEYS);
  readType(r);
  const path = readPath(r, projectFiles);
  const protobufPath = readProtobufPath(r, projectFiles);
  const config = readConfig(r);
  const env = readEnv(r);
  const logLevel = r.oneOf("log_level", LOG_LEVELS) ?? "info";
  const processesPerReplica =
    r.integer("processes_per_replica", { min: 1, max: 100 }) ?? 1;
  const threadsPerProcess = r.integer("threads_per_process", { min: 1 }) ?? 1;
  return {
    type: "typescript",
    path,
    protobufPath,
    config,
    env,
    logLevel,
    processesPerReplica,
    threadsPerProcess,
    serverSideBatching: readBatching(
      r,
      processesPerReplica * threadsPerProcess,
    ),
    requestTimeoutMs: r.duration("request_timeout", { above: 0 }) ??
      HANDLER_DEFAULTS.requestTimeoutMs,
    maxBodyBytes: readBodySize(r),
    allowNet: readAllowNet(r, net),
    control: readControl(r),
    shutdownGracePeriodMs: r.duration("shutdown_grace_period", { min: 0 }) ??
      HANDLER_DEFAULTS.shutdownGracePeriodMs,
    startupTimeoutMs: r.duration("startup_timeout", { above: 0 }) ??
      HANDLER_DEFAULTS.startupTimeoutMs,
    accessLog: readAccessLog(r),
    ...optional("models", readModels(r, projectFiles)),
    ...optional("warmup", readWarmup(r)),
    ...optional("streamTimeoutMs", r.duration("stream_timeout", { above: 0 })),
    ...optional("sseHeartbeatMs", r.duration("sse_heartbeat", { min: 0 })),
  };
}

function optional<K extends string, V>(
  key: K,
  value: V | undefined,
): { [k in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: V };
}

/** `access_log`: true (1), false (0), or a sample rate in (0, 1]. */
function readAccessLog(r: FieldReader): number {
  const node = r.node("access_log");
  if (node === undefined) return 1;
  const value = node.kind === "scalar" ? node.value : null;
  if (value === true) return 1;
  if (value === false) return 0;
  if (
    typeof value === "number" && Number.isFinite(value) && value > 0 &&
    value <= 1
  ) return value;
  r.reject(
    "access_log",
    node,
    "expected true, false or a sample rate greater than 0 and at most 1 (e.g. 0.1); false turns access lines off",
  );
  return 1;
}

function readType(r: FieldReader): void {
  const node = r.node("type");
  const type = r.string("type");
  if (type === undefined || type === "typescript" || node === undefined) return;
  r.reject(
    "type",
    node,
    'this runtime serves TypeScript handlers; set handler.type to "typescript" or remove it',
  );
}

function readPath(r: FieldReader, files: ReadonlySet<string>): string {
  if (!r.require("path", PATH_HINT)) return "";
  const path = r.string("path");
  if (path === undefined) return "";
  return checkProjectPath(r, "path", {
    path,
    files,
    extensions: HANDLER_EXTENSIONS,
    hint: PATH_HINT,
  }) ?? "";
}

function readProtobufPath(
  r: FieldReader,
  files: ReadonlySet<string>,
): string | null {
  const path = r.string("protobuf_path");
  if (path === undefined) return null;
  return checkProjectPath(r, "protobuf_path", {
    path,
    files,
    extensions: [".proto"],
    hint: "expected a .proto file",
  }) ?? null;
}

function readConfig(r: FieldReader): Record<string, unknown> {
  const node = r.node("config");
  if (node === undefined) return {};
  if (node.kind === "map") return toPlain(node) as Record<string, unknown>;
  r.reject("config", node, "expected a mapping");
  return {};
}

function readEnv(r: FieldReader): Record<string, string> {
  const env = r.section("env");
  const out: Record<string, string> = {};
  for (const entry of env.map?.entries ?? []) {
    const key = entry.key;
    if (!ENV_NAME.test(key)) {
      env.fail(
        key,
        'is not a valid variable name: expected letters, digits and "_", not starting with a digit',
        entry.line,
      );
    } else if (key.startsWith("CORTEX_")) {
      env.fail(
        key,
        'is reserved: variables starting with "CORTEX_" are set by the runtime',
        entry.line,
      );
    }
    const value = entry.value;
    if (value.kind !== "scalar" || typeof value.value !== "string") {
      const hint = value.kind === "scalar" && value.value !== null
        ? "expected a string (quote it in YAML)"
        : "expected a string";
      env.reject(key, value, hint);
      continue;
    }
    out[key] = value.value;
  }
  return out;
}

const BATCHING_KEYS = [
  "mode",
  "max_batch_size",
  "batch_interval",
  "max_latency",
  "target_latency",
  "max_concurrent_batches",
];

function readBatching(
  r: FieldReader,
  slots: number,
): BatchingConfig | null {
  if (!r.has("server_side_batching")) return null;
  const b = r.section("server_side_batching");
  if (b.map === null) return null;
  b.checkKeys(BATCHING_KEYS);
  const mode = b.oneOf("mode", ["fixed", "adaptive"] as const) ?? "fixed";
  b.require("max_batch_size", "expected an integer from 2 to 1024");
  if (mode === "fixed") {
    b.require("batch_interval", 'expected a duration such as "100ms"');
  } else {
    b.require(
      "max_latency",
      'expected a duration such as "200ms": adaptive batching never holds a request longer',
    );
    const interval = b.node("batch_interval");
    if (interval !== undefined) {
      b.reject(
        "batch_interval",
        interval,
        "only used with mode: fixed; adaptive batching decides how long to wait (bound it with max_latency and target_latency)",
      );
    }
  }
  const maxBatchSize = b.integer("max_batch_size", { min: 2, max: 1024 });
  const batchIntervalMs = b.duration("batch_interval", { above: 0 });
  const maxLatencyMs = b.duration("max_latency", { above: 0 });
  const targetLatencyMs = b.duration("target_latency", { above: 0 });
  const maxConcurrentBatches =
    b.integer("max_concurrent_batches", { min: 1, max: 1024 }) ?? 1;
  if (b.node("target_latency") !== undefined && mode !== "adaptive") {
    b.reject(
      "target_latency",
      b.node("target_latency")!,
      "only used with mode: adaptive",
    );
  }
  if (
    maxLatencyMs !== undefined && targetLatencyMs !== undefined &&
    targetLatencyMs > maxLatencyMs
  ) {
    b.reject(
      "target_latency",
      b.node("target_latency")!,
      `must be at most max_latency (${maxLatencyMs} ms)`,
    );
  }
  if (
    mode === "fixed" && maxLatencyMs !== undefined &&
    batchIntervalMs !== undefined && maxLatencyMs <= batchIntervalMs
  ) {
    b.reject(
      "max_latency",
      b.node("max_latency")!,
      `must be more than batch_interval (${batchIntervalMs} ms), or a batch's first request would be refused before it runs`,
    );
  }
  if (maxConcurrentBatches > slots) {
    b.reject(
      "max_concurrent_batches",
      b.node("max_concurrent_batches")!,
      `must be at most handler.processes_per_replica x threads_per_process (${slots}): each running batch holds one of the replica's slots`,
    );
  }
  if (
    maxBatchSize === undefined ||
    (mode === "fixed" && batchIntervalMs === undefined) ||
    (mode === "adaptive" && maxLatencyMs === undefined) || !b.ok("mode")
  ) return null;
  return {
    mode,
    maxBatchSize,
    batchIntervalMs: batchIntervalMs ?? 0,
    maxLatencyMs: maxLatencyMs ?? null,
    targetLatencyMs: targetLatencyMs ?? null,
    maxConcurrentBatches,
  };
}

/**
 * A batch must be able to fill: a replica admits at most
 * `max_replica_concurrency` requests, so a larger `max_batch_size` could
 * never be reached. Called once autoscaling is read.
 */
export function checkBatchingFits(
  handler: FieldReader,
  batching: BatchingConfig | null,
  maxReplicaConcurrency: number,
): void {
  if (batching === null || batching.maxBatchSize <= maxReplicaConcurrency) {
    return;
  }
  const b = handler.section("server_side_batching");
  b.reject(
    "max_batch_size",
    b.node("max_batch_size")!,
    `must be at most autoscaling.max_replica_concurrency (${maxReplicaConcurrency}): a replica admits no more requests than that, so a batch could never fill`,
  );
}

function readBodySize(r: FieldReader): number {
  const node = r.node("max_body_size");
  if (node === undefined) return HANDLER_DEFAULTS.maxBodyBytes;
  const raw = node.kind === "scalar" ? node.value : null;
  const bytes = typeof raw === "string" || typeof raw === "number"
    ? parseByteSize(raw)
    : null;
  if (bytes === null) {
    r.reject(
      "max_body_size",
      node,
      'expected a byte size such as "32Mi", "10MB" or an integer number of bytes',
    );
    return HANDLER_DEFAULTS.maxBodyBytes;
  }
  if (bytes < 1) {
    r.reject("max_body_size", node, "must be at least 1 byte");
    return HANDLER_DEFAULTS.maxBodyBytes;
  }
  return bytes;
}

function readAllowNet(r: FieldReader, net?: NetRules): string[] {
  const list = r.list("allow_net");
  const out: string[] = [];
  list?.items.forEach((item, i) => {
    const key = `allow_net[${i}]`;
    if (item.kind !== "scalar" || typeof item.value !== "string") {
      r.reject(key, item, NET_ENTRY_HINT);
      return;
    }
    const problem = netEntryProblem(item.value, net);
    if (problem !== null) r.reject(key, item, problem);
    else out.push(item.value);
  });
  return out;
}

const CONTROL_HINT =
  'expected a mapping of actions to API names, e.g. { patch: [iris], logs: ["*"] }';
const TARGETS_HINT = 'expected a list of API names, or ["*"] for every API';

function readControl(r: FieldReader): ControlGrants {
  const grants = noControlGrants();
  const node = r.node("control");
  if (node === undefined) return grants;
  if (node.kind !== "map") {
    r.reject("control", node, CONTROL_HINT);
    return grants;
  }
  const c = r.section("control");
  c.checkKeys(Object.keys(CONTROL_KEYS));
  for (const [key, field] of Object.entries(CONTROL_KEYS)) {
    const value = c.node(key);
    if (value === undefined) continue;
    if (value.kind !== "seq") {
      c.reject(key, value, TARGETS_HINT);
      continue;
    }
    value.items.forEach((item, i) => {
      const name = item.kind === "scalar" ? item.value : null;
      if (typeof name === "string" && (name === "*" || isApiName(name))) {
        if (!grants[field].includes(name)) grants[field].push(name);
      } else {
        c.reject(
          `${key}[${i}]`,
          item,
          'expected an API name (a lower-case DNS label) or "*"',
        );
      }
    });
  }
  return grants;
}
