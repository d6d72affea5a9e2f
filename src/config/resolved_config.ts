/**
 * The resolved configuration of a project: what the rest of the runtime
 * receives after cortex.yaml has been parsed, validated and defaulted.
 * Every field is required here; optional fields exist only in the parsed form.
 *
 * @module
 */

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** `handler.server_side_batching`. */
export interface BatchingConfig {
  /** "fixed" (Cortex's behaviour, the default) or "adaptive". */
  mode: "fixed" | "adaptive";
  maxBatchSize: number;
  /** Fixed mode: how long the first request of a batch may wait, in ms. */
  batchIntervalMs: number;
  /** No request waits longer for a batch (503 past it); null: no bound. */
  maxLatencyMs: number | null;
  /** Adaptive mode: the latency to aim for; null: max_latency. */
  targetLatencyMs: number | null;
  /** Batches running at once in a replica (default 1). */
  maxConcurrentBatches: number;
}

/** `handler.*` after defaults. */
export interface HandlerConfig {
  /** Always "typescript" once validated. */
  type: "typescript";
  /** Path relative to the project directory, POSIX separators. */
  path: string;
  /** Path relative to the project directory, or null when the API is HTTP only. */
  protobufPath: string | null;
  config: Record<string, unknown>;
  env: Record<string, string>;
  logLevel: LogLevel;
  processesPerReplica: number;
  threadsPerProcess: number;
  serverSideBatching: BatchingConfig | null;
  /** Ours: per-request timeout in milliseconds (default 60000). */
  requestTimeoutMs: number;
  /** Ours: maximum request body in bytes (default 32 MiB). */
  maxBodyBytes: number;
  /** Ours: concrete "host:port" pairs the handler may reach (src/config/net_rules.ts). */
  allowNet: string[];
  /** Ours: what `ctx.client` may do beyond reading the status of APIs. */
  control: ControlGrants;
  /** Ours: grace period for a draining replica in milliseconds (default 30000). */
  shutdownGracePeriodMs: number;
  /**
   * Ours: the share of requests that get an access line: 1 (`true`, the
   * default), 0 (`false`: none), or a sample rate in between, under which
   * responses with status >= 500 are always logged.
   */
  accessLog: number;
  /** Ours: how long the constructor may take before the replica is failed (default 120000). */
  startupTimeoutMs: number;
  /** Ours: longest life of a streamed response in ms (`handler.stream_timeout`, default none). */
  streamTimeoutMs?: number;
  /** Ours: idle time before an SSE heartbeat in ms (`handler.sse_heartbeat`, default 15000; 0 for none). */
  sseHeartbeatMs?: number;
  /** `handler.models` (Cortex's multi-model shapes), when set. */
  models?: ModelsConfig;
  /** Ours: `handler.warmup`, calls run before a replica is ready. */
  warmup?: WarmupConfig;
}

/** One model file of `handler.models` (`path`, or an entry of `paths`). */
export interface ModelPath {
  /** "default" for `models.path`. */
  name: string;
  /** A project path (relative, POSIX) or an `https://` (loopback `http://`) URL. */
  path: string;
  /** Lower-case hex SHA-256 the file must have, or null. */
  sha256: string | null;
}

/** `handler.models`: either `paths` (from `path` or `paths`) or `dir`. */
export interface ModelsConfig {
  paths: ModelPath[];
  /** Project folder with one sub-folder per model, integer versions in each. */
  dir: string | null;
  /** Most models loaded at once (LRU); null: no bound. */
  cacheSize: number | null;
  /** Ours: how often changed files and new versions are looked for (default 10000). */
  pollIntervalMs: number;
}

/** `handler.warmup`. */
export interface WarmupConfig {
  /** Sent as JSON (a string as text) to handlePost; GET handlers get none. */
  payload: unknown;
  count: number;
}

/**
 * `handler.control`: for each control action a handler may be granted, the
 * APIs it may do it to (names, or "*" for every API). Reading the status of
 * APIs (`get`, `list`) needs no grant.
 */
export interface ControlGrants {
  /** See the `handler.env` values of these APIs in `get`/`list`/`patch` answers. */
  readEnv: string[];
  /** Follow these APIs' logs. */
  logs: string[];
  patch: string[];
  refresh: string[];
  delete: string[];
  /** Create or update these APIs by name ("*" also allows a project directory). */
  deploy: string[];
}

/** `compute.*` after defaults, kept as written for cluster manifests. */
export interface ComputeConfig {
  /** Kubernetes quantity, e.g. "200m" or "1". */
  cpu: string;
  /** Kubernetes quantity, e.g. "512Mi", or null when unset. */
  mem: string | null;
  gpu: number;
}

/** `autoscaling.*` after defaults; durations in milliseconds. */
export interface AutoscalingConfig {
  minReplicas: number;
  maxReplicas: number;
  initReplicas: number;
  maxReplicaConcurrency: number;
  targetReplicaConcurrency: number;
  windowMs: number;
  downscaleStabilizationPeriodMs: number;
  upscaleStabilizationPeriodMs: number;
  maxDownscaleFactor: number;
  maxUpscaleFactor: number;
  downscaleTolerance: number;
  upscaleTolerance: number;
  /** Ours: autoscaler tick in milliseconds (default 10000). */
  tickMs: number;
  /** Ours: Knative-style panic mode (default false). */
  panicMode: boolean;
  /** Ours: panic window in milliseconds (default 6000). */
  panicWindowMs: number;
}

/** `update_strategy.*`, kept as written ("25%" or an integer). */
export interface UpdateStrategyConfig {
  maxSurge: string;
  maxUnavailable: string;
}

/** `networking.*` after defaults. */
export interface NetworkingConfig {
  /** Always starts with "/" and has no trailing slash (except "/" itself). */
  endpoint: string;
  /** `networking.cors`: unset is the default policy, `false` turns it off. */
  cors?: CorsConfig | false;
  /** `networking.auth`: API keys, when the API requires them. */
  auth?: AuthConfig;
  /** `networking.rate_limit`: one token bucket per API, key or client. */
  rateLimit?: RateLimitConfig;
}

/** `networking.cors` (see src/edge/cors.ts). */
export interface CorsConfig {
  /** Exact origins, `https://*.example.com` patterns, or `["*"]`. */
  allowOrigins: string[];
  /** Lower case; null echoes the preflight's Access-Control-Request-Headers. */
  allowHeaders: string[] | null;
  /** Lower case; `x-request-id` is always included. */
  exposeHeaders: string[];
  allowCredentials: boolean;
  /** Seconds a browser may cache a preflight answer. */
  maxAge: number;
}

/** `networking.auth`: where the keys are, never the keys themselves. */
export interface AuthConfig {
  /** Environment variable of the serving process: comma-separated keys. */
  keysEnv: string | null;
  /** Project file of SHA-256 hashes (hex), one per line, optional label. */
  keysFile: string | null;
  /** HTTP methods that need a key (upper case); null: every method. */
  methods: string[] | null;
}

/** `networking.rate_limit`. */
export interface RateLimitConfig {
  /** Tokens added per second. */
  rps: number;
  /** Bucket size: requests allowed at once after an idle period. */
  burst: number;
  /** One bucket for the API, per API key, or per client address. */
  per: "api" | "key" | "client";
}

/** One realtime API from cortex.yaml, fully resolved. */
export interface ApiConfig {
  name: string;
  kind: "RealtimeAPI";
  handler: HandlerConfig;
  compute: ComputeConfig;
  autoscaling: AutoscalingConfig;
  updateStrategy: UpdateStrategyConfig;
  networking: NetworkingConfig;
  /** 1-based line of this API's entry in cortex.yaml, for messages. */
  line: number;
}

/** A loaded project: its directory, files, environment and APIs. */
export interface Project {
  /** Absolute path of the directory that holds cortex.yaml. */
  dir: string;
  /** Absolute path of cortex.yaml. */
  configPath: string;
  apis: ApiConfig[];
  /**
   * Files available to handlers, relative to `dir`, POSIX separators, sorted:
   * everything except dotfiles, dot-folders, cortex.yaml and .cortexignore matches.
   */
  files: string[];
  /** Variables from `.env` (empty when there is none). */
  dotenv: Record<string, string>;
}
