import { type Case, runCases } from "./_testing.ts";

const E = "cortex.yaml";
const BASE = "name: iris\nhandler: {path: handler.ts}\nautoscaling:\n";

const cases: Case[] = [
  {
    name: "defaults",
    yaml: "name: iris\nhandler: {path: handler.ts}\n",
    get: (a) => a.autoscaling,
    want: {
      minReplicas: 1,
      maxReplicas: 100,
      initReplicas: 1,
      maxReplicaConcurrency: 1024,
      targetReplicaConcurrency: 1,
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
  },
  {
    name: "every field set",
    yaml: BASE +
      "  min_replicas: 2\n  max_replicas: 5\n  init_replicas: 3\n  max_replica_concurrency: 64\n  target_replica_concurrency: 2.5\n  window: 30s\n  downscale_stabilization_period: 1m\n  upscale_stabilization_period: 0\n  max_downscale_factor: 0\n  max_upscale_factor: 3\n  downscale_tolerance: 0\n  upscale_tolerance: 0.2\n  tick: 500ms\n  panic_mode: true\n  panic_window: 3s\n",
    get: (a) => a.autoscaling,
    want: {
      minReplicas: 2,
      maxReplicas: 5,
      initReplicas: 3,
      maxReplicaConcurrency: 64,
      targetReplicaConcurrency: 2.5,
      windowMs: 30_000,
      downscaleStabilizationPeriodMs: 60_000,
      upscaleStabilizationPeriodMs: 0,
      maxDownscaleFactor: 0,
      maxUpscaleFactor: 3,
      downscaleTolerance: 0,
      upscaleTolerance: 0.2,
      tickMs: 500,
      panicMode: true,
      panicWindowMs: 3_000,
    },
  },
  {
    name: "init_replicas defaults to min_replicas",
    yaml: BASE + "  min_replicas: 3\n",
    get: (a) => a.autoscaling.initReplicas,
    want: 3,
  },
  {
    name: "target_replica_concurrency defaults to processes x threads",
    yaml:
      "name: iris\nhandler: {path: handler.ts, processes_per_replica: 2, threads_per_process: 3}\n",
    get: (a) => a.autoscaling.targetReplicaConcurrency,
    want: 6,
  },
  {
    name: "a short window is allowed and shrinks the default panic window",
    yaml: BASE + "  window: 2s\n",
    get: (a) => [a.autoscaling.windowMs, a.autoscaling.panicWindowMs],
    want: [2_000, 2_000],
  },
  {
    name: "single-field bounds",
    yaml: BASE +
      "  min_replicas: 0\n  max_replica_concurrency: 30001\n  target_replica_concurrency: 0\n  window: 500ms\n  max_downscale_factor: 1\n  max_upscale_factor: 1\n  downscale_tolerance: -0.1\n  tick: 50ms\n",
    wantErr: [
      `${E}:4: autoscaling.min_replicas is 0: must be at least 1`,
      `${E}:5: autoscaling.max_replica_concurrency is 30001: must be at most 30000`,
      `${E}:6: autoscaling.target_replica_concurrency is 0: must be greater than 0`,
      `${E}:7: autoscaling.window is "500ms": must be at least 1s`,
      `${E}:8: autoscaling.max_downscale_factor is 1: must be less than 1`,
      `${E}:9: autoscaling.max_upscale_factor is 1: must be greater than 1`,
      `${E}:10: autoscaling.downscale_tolerance is -0.1: must be at least 0`,
      `${E}:11: autoscaling.tick is "50ms": must be at least 100ms`,
    ],
  },
  {
    name: "max_replicas below min_replicas",
    yaml: BASE + "  min_replicas: 4\n  max_replicas: 2\n",
    wantErr: [
      `${E}:5: autoscaling.max_replicas is 2: must be at least autoscaling.min_replicas (4)`,
    ],
  },
  {
    name: "min_replicas above the default max_replicas",
    yaml: BASE + "  min_replicas: 101\n",
    wantErr: [
      `${E}:4: autoscaling.min_replicas is 101: must be at most autoscaling.max_replicas (100)`,
    ],
  },
  {
    name: "init_replicas outside [min, max]",
    yaml: BASE + "  min_replicas: 2\n  max_replicas: 4\n  init_replicas: 5\n",
    wantErr: [
      `${E}:6: autoscaling.init_replicas is 5: must be from autoscaling.min_replicas (2) to autoscaling.max_replicas (4)`,
    ],
  },
  {
    name: "target above max_replica_concurrency",
    yaml: BASE +
      "  max_replica_concurrency: 10\n  target_replica_concurrency: 11\n",
    wantErr: [
      `${E}:5: autoscaling.target_replica_concurrency is 11: must be at most autoscaling.max_replica_concurrency (10)`,
    ],
  },
  {
    name: "default target above max_replica_concurrency",
    yaml:
      "name: iris\nhandler: {path: handler.ts, threads_per_process: 20}\nautoscaling: {max_replica_concurrency: 10}\n",
    wantErr: [
      `${E}:3: autoscaling.max_replica_concurrency is 10: must be at least autoscaling.target_replica_concurrency (20)`,
    ],
  },
  {
    name: "panic_window longer than window",
    yaml: BASE + "  window: 10s\n  panic_window: 20s\n",
    wantErr: [
      `${E}:5: autoscaling.panic_window is "20s": must be at most autoscaling.window (10s)`,
    ],
  },
  {
    name: "wrong types say what is expected",
    yaml: BASE +
      "  max_replicas: ten\n  panic_mode: yes\n  window: {}\n  upscale_tolerance: '0.1'\n",
    wantErr: [
      `${E}:4: autoscaling.max_replicas is "ten": expected an integer`,
      `${E}:5: autoscaling.panic_mode is "yes": expected true or false`,
      `${E}:6: autoscaling.window is a mapping: expected a duration such as "30s", "1m30s" or "500ms", or an integer number of seconds`,
      `${E}:7: autoscaling.upscale_tolerance is "0.1": expected a number`,
    ],
  },
  {
    name: "an invalid field does not cause a second, derived error",
    yaml: BASE + "  min_replicas: x\n  max_replicas: 0\n",
    wantErr: [
      `${E}:4: autoscaling.min_replicas is "x": expected an integer`,
      `${E}:5: autoscaling.max_replicas is 0: must be at least 1`,
    ],
  },
  {
    name: "autoscaling must be a mapping",
    yaml: "name: iris\nhandler: {path: handler.ts}\nautoscaling: [1]\n",
    wantErr: [`${E}:3: autoscaling is a list: expected a mapping`],
  },
  {
    name: "unknown field with a suggestion",
    yaml: BASE + "  max_replica: 3\n",
    wantErr: [
      `${E}:4: autoscaling.max_replica is not a known field: did you mean "max_replicas"?`,
    ],
  },
];

Deno.test("parseApiConfigs() validates autoscaling fields", async (t) => {
  await runCases(t, cases);
});
