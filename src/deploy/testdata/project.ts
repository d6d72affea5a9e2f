/**
 * A project with two APIs, one HTTP and one gRPC, built literally for the
 * deploy tests, and a helper to read nested manifest fields.
 *
 * @module
 */
import type { ApiConfig, Project } from "../../config/resolved_config.ts";

const base: ApiConfig = {
  name: "iris",
  kind: "RealtimeAPI",
  handler: {
    type: "typescript",
    path: "handler.ts",
    protobufPath: null,
    config: { model: "iris.onnx" },
    env: { MODEL_BUCKET: "s3://models", LOG_FORMAT: "json" },
    logLevel: "info",
    processesPerReplica: 1,
    threadsPerProcess: 1,
    serverSideBatching: null,
    requestTimeoutMs: 45_500,
    maxBodyBytes: 32 * 1024 * 1024,
    allowNet: [],
    control: {
      readEnv: [],
      logs: [],
      patch: [],
      refresh: [],
      delete: [],
      deploy: [],
    },
    shutdownGracePeriodMs: 30_000,
    startupTimeoutMs: 120_000,
    accessLog: 1,
  },
  compute: { cpu: "500m", mem: "1Gi", gpu: 0 },
  autoscaling: {
    minReplicas: 2,
    maxReplicas: 20,
    initReplicas: 3,
    maxReplicaConcurrency: 64,
    targetReplicaConcurrency: 8,
    windowMs: 60_000,
    downscaleStabilizationPeriodMs: 300_000,
    upscaleStabilizationPeriodMs: 60_000,
    maxDownscaleFactor: 0.75,
    maxUpscaleFactor: 1.5,
    downscaleTolerance: 0.05,
    upscaleTolerance: 0.05,
    tickMs: 10_000,
    panicMode: false,
    panicWindowMs: 6_000,
  },
  updateStrategy: { maxSurge: "25%", maxUnavailable: "0" },
  networking: { endpoint: "/iris" },
  line: 1,
};

const grpc: ApiConfig = {
  ...base,
  name: "ranker",
  handler: {
    ...base.handler,
    protobufPath: "ranker.proto",
    env: { CORTEX_API: "spoofed", TOP_K: "10" },
    requestTimeoutMs: 900_000,
    shutdownGracePeriodMs: 12_300,
    startupTimeoutMs: 120_000,
    accessLog: 0.5,
  },
  compute: { cpu: "2", mem: null, gpu: 1 },
  autoscaling: {
    ...base.autoscaling,
    minReplicas: 0,
    maxReplicas: 5,
    initReplicas: 1,
    maxReplicaConcurrency: 4096,
    targetReplicaConcurrency: 2.5,
    windowMs: 2_000,
    maxDownscaleFactor: 1,
    panicMode: true,
    panicWindowMs: 3_000,
  },
  updateStrategy: { maxSurge: "1", maxUnavailable: "10%" },
  networking: { endpoint: "/rank" },
  line: 30,
};

/** A fresh copy of the test project (tests may modify it). */
export function testProject(): Project {
  return structuredClone({
    dir: "/srv/shop",
    configPath: "/srv/shop/cortex.yaml",
    apis: [base, grpc],
    files: ["handler.ts", "ranker.proto"],
    dotenv: { SECRET: "not-in-manifests" },
  });
}

/** Reads a nested field; a number indexes an array. */
export function dig(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}
