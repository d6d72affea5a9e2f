/**
 * Tracing settings from the standard OpenTelemetry environment variables.
 * Tracing is on when `OTEL_DENO=true` (the switch of Deno's built-in
 * OpenTelemetry); spans go to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else
 * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (default
 * `http://localhost:4318`), as OTLP/HTTP JSON.
 *
 * @module
 */

/** Where and how spans are exported. */
export interface TraceConfig {
  /** The full URL spans are POSTed to. */
  url: string;
  /** Extra request headers (`OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`). */
  headers: Record<string, string>;
  /** `service.name` of every span's resource; null: each API's name. */
  serviceName: string | null;
  /** Further resource attributes (`OTEL_RESOURCE_ATTRIBUTES`). */
  resource: Record<string, string>;
}

/** The variables read here (the serving process's env grant lists them). */
export const TRACE_ENV = [
  "OTEL_DENO",
  "OTEL_TRACES_EXPORTER",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
] as const;

/**
 * Deno's variables of its other signals: never read by the runtime, but
 * they may hold a collector's credentials, so replicas do not get them.
 */
const OTHER_SIGNALS_ENV = [
  "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
  "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
  "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
  "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
];

/** A variable with a value the runtime cannot use. */
export class TraceConfigError extends Error {
  override name = "TraceConfigError";
}

/** `k1=v1,k2=v2` with percent-encoded values (W3C Baggage style, as OTel). */
function pairs(
  value: string | undefined,
  name: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const item of value.split(",")) {
    if (item.trim() === "") continue;
    const at = item.indexOf("=");
    if (at <= 0) {
      throw new TraceConfigError(
        `${name}: "${
          item.trim().slice(0, 40)
        }" is not a key=value pair (expected k1=v1,k2=v2)`,
      );
    }
    try {
      out[item.slice(0, at).trim()] = decodeURIComponent(
        item.slice(at + 1).trim(),
      );
    } catch {
      throw new TraceConfigError(
        `${name}: the value of "${
          item.slice(0, at).trim()
        }" is not valid percent-encoding`,
      );
    }
  }
  return out;
}

/**
 * The tracing settings, or null when tracing is off.
 *
 * @param env reads one variable
 * @throws {TraceConfigError} naming the variable that is wrong
 */
export function traceConfig(
  env: (name: typeof TRACE_ENV[number]) => string | undefined,
): TraceConfig | null {
  if (env("OTEL_DENO") !== "true") return null;
  const exporter = env("OTEL_TRACES_EXPORTER");
  if (exporter === "none") return null;
  if (exporter !== undefined && exporter !== "" && exporter !== "otlp") {
    throw new TraceConfigError(
      `OTEL_TRACES_EXPORTER: "${exporter}" is not an exporter of this runtime (otlp or none)`,
    );
  }
  const protocolVar = env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
    ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const protocol = env(protocolVar);
  // OTLP/HTTP receivers take JSON and protobuf on the same path.
  if (protocol && protocol !== "http/json" && protocol !== "http/protobuf") {
    throw new TraceConfigError(
      `${protocolVar}: "${protocol}" is not supported: spans are exported as OTLP/HTTP (http/json), use the collector's HTTP endpoint (port 4318)`,
    );
  }
  const own = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const base = env("OTEL_EXPORTER_OTLP_ENDPOINT") || "http://localhost:4318";
  const urlVar = own
    ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    : "OTEL_EXPORTER_OTLP_ENDPOINT";
  const url = own || base.replace(/\/+$/, "") + "/v1/traces";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TraceConfigError(`${urlVar}: "${url}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TraceConfigError(
      `${urlVar}: "${url}" is not an http:// or https:// URL`,
    );
  }
  return {
    url: parsed.href,
    headers: {
      ...pairs(env("OTEL_EXPORTER_OTLP_HEADERS"), "OTEL_EXPORTER_OTLP_HEADERS"),
      ...pairs(
        env("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
      ),
    },
    serviceName: env("OTEL_SERVICE_NAME") || null,
    resource: pairs(
      env("OTEL_RESOURCE_ATTRIBUTES"),
      "OTEL_RESOURCE_ATTRIBUTES",
    ),
  };
}

/** The exact net grant the exporter needs: the endpoint's `host:port`. */
export function exporterGrant(config: TraceConfig): string {
  const url = new URL(config.url);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${url.hostname}:${port}`;
}

/** Reads the settings from the process's environment. */
export function traceConfigFromEnv(): TraceConfig | null {
  return traceConfig((name) => Deno.env.get(name));
}

/**
 * Set by the supervisor for the serving process ("on"/"off"), which runs
 * with `OTEL_DENO=false` so that Deno's own instrumentation stays off there.
 */
export const TRACES_ENV = "CORTEX_TRACES";

/**
 * The serving process's settings: as the supervisor decided
 * ({@linkcode TRACES_ENV}), else (a compiled binary) from `OTEL_DENO`.
 */
export function servingTraceConfig(): TraceConfig | null {
  const decided = Deno.env.get(TRACES_ENV);
  if (decided === "off") return null;
  if (decided !== "on") return traceConfigFromEnv();
  return traceConfig((name) =>
    name === "OTEL_DENO" ? "true" : Deno.env.get(name)
  );
}

/**
 * What a replica's environment gets instead of the server's tracing
 * variables: Deno's built-in OpenTelemetry off (it would export from the
 * sandbox without any permission) and no collector address or credentials.
 */
export function replicaTraceEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...TRACE_ENV, ...OTHER_SIGNALS_ENV]) env[name] = "";
  env.OTEL_DENO = "false";
  return env;
}
