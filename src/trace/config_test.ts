import assert from "node:assert/strict";
import {
  exporterGrant,
  replicaTraceEnv,
  TRACE_ENV,
  traceConfig,
  TraceConfigError,
} from "./config.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("traceConfig(): off unless OTEL_DENO=true, or with OTEL_TRACES_EXPORTER=none", () => {
  assert.equal(traceConfig(env({})), null);
  assert.equal(traceConfig(env({ OTEL_DENO: "1" })), null);
  assert.equal(traceConfig(env({ OTEL_DENO: "false" })), null);
  assert.equal(
    traceConfig(env({ OTEL_DENO: "true", OTEL_TRACES_EXPORTER: "none" })),
    null,
  );
});

Deno.test("traceConfig(): the standard variables, with Deno's defaults", () => {
  assert.deepEqual(traceConfig(env({ OTEL_DENO: "true" })), {
    url: "http://localhost:4318/v1/traces",
    headers: {},
    serviceName: null,
    resource: {},
  });
  assert.deepEqual(
    traceConfig(env({
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com:4318/",
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20t, x-a = b",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-a=c",
      OTEL_SERVICE_NAME: "shop",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    })),
    {
      url: "https://otel.example.com:4318/v1/traces",
      headers: { authorization: "Bearer t", "x-a": "c" },
      serviceName: "shop",
      resource: { "deployment.environment": "prod" },
    },
  );
  // The traces endpoint is used as is.
  assert.equal(
    traceConfig(env({
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:1",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:2/custom",
    }))?.url,
    "http://b:2/custom",
  );
});

Deno.test("traceConfig(): wrong values are errors naming the variable", () => {
  const bad: [Record<string, string>, RegExp][] = [
    [
      { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      /^OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported/,
    ],
    [
      { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" },
      /^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL:/,
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" },
      /^OTEL_EXPORTER_OTLP_ENDPOINT: "not a url\/v1\/traces" is not a URL/,
    ],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "ftp://x/" },
      /^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: .* not an http/,
    ],
    [
      { OTEL_EXPORTER_OTLP_HEADERS: "novalue" },
      /^OTEL_EXPORTER_OTLP_HEADERS: "novalue" is not a key=value pair/,
    ],
    [
      { OTEL_RESOURCE_ATTRIBUTES: "a=%zz" },
      /^OTEL_RESOURCE_ATTRIBUTES: the value of "a"/,
    ],
    [{ OTEL_TRACES_EXPORTER: "jaeger" }, /^OTEL_TRACES_EXPORTER: "jaeger"/],
  ];
  for (const [vars, why] of bad) {
    assert.throws(
      () => traceConfig(env({ OTEL_DENO: "true", ...vars })),
      (e: unknown) => e instanceof TraceConfigError && why.test(e.message),
    );
  }
});

Deno.test("exporterGrant() is the endpoint's exact host:port", () => {
  const grant = (url: string) =>
    exporterGrant({ url, headers: {}, serviceName: null, resource: {} });
  assert.equal(grant("http://127.0.0.1:4318/v1/traces"), "127.0.0.1:4318");
  assert.equal(grant("http://collector/v1/traces"), "collector:80");
  assert.equal(grant("https://collector/v1/traces"), "collector:443");
  assert.equal(grant("http://[::1]:4318/v1/traces"), "[::1]:4318");
});

Deno.test("replicaTraceEnv() blanks every tracing variable and turns Deno's OTel off", () => {
  const blank = replicaTraceEnv();
  for (const name of TRACE_ENV) assert.ok(name in blank, name);
  assert.equal(blank.OTEL_DENO, "false");
  assert.equal(blank.OTEL_EXPORTER_OTLP_HEADERS, "");
  assert.equal(blank.OTEL_EXPORTER_OTLP_LOGS_HEADERS, "");
  assert.equal(blank.OTEL_EXPORTER_OTLP_METRICS_HEADERS, "");
});
