import { parseApiConfigs } from "../config/parse_api_configs.ts";
import assert from "node:assert/strict";
import type { Autoscaler } from "../autoscaler/loop.ts";
import type {
  ApiConfig,
  AutoscalingConfig,
  Project,
} from "../config/resolved_config.ts";
import type { ReplicaPool } from "../server/replica_pool.ts";
import { ControlError } from "./client.ts";
import { applyPatch } from "./api_spec.ts";
import { LogFanout } from "./log_tap.ts";
import {
  apiEndpointUrl,
  type ControlHost,
  type ControlPool,
  createServerTarget,
} from "./server_target.ts";
import { FAKE_FILES, fakeApi } from "./_testing.ts";

// The real pool and autoscaler must fit what the control plane uses.
const _pool: ControlPool = null as unknown as ReplicaPool;
const _autoscaler: { updateConfig(cfg: AutoscalingConfig): void } =
  null as unknown as Autoscaler;

class FakePool implements ControlPool {
  api: ApiConfig;
  desired = 1;
  ready: unknown[] = [{}];
  status = "live" as const;
  error: string | null = null;
  restarts = 0;
  inFlight = 2;
  queued = 0;
  log: string[] = [];
  constructor(api: ApiConfig) {
    this.api = api;
  }
  scaleTo(n: number): void {
    this.log.push(`scaleTo ${n} max=${this.api.autoscaling.maxReplicas}`);
  }
  rollOut(api: ApiConfig): Promise<void> {
    this.log.push(`rollOut ${api.handler.path}`);
    return api.handler.path === "fail.ts"
      ? Promise.reject(new Error("constructor threw"))
      : Promise.resolve();
  }
}

function host() {
  const project: Project = {
    dir: "/proj",
    configPath: "/proj/cortex.yaml",
    apis: [],
    files: [...FAKE_FILES, "fail.ts"],
    dotenv: {},
  };
  const pool = new FakePool(
    fakeApi("name: iris\nhandler: { path: handler.ts }"),
  );
  const updates: AutoscalingConfig[] = [];
  const events: string[] = [];
  const apis = new Map([["iris", {
    pool: pool as ControlPool,
    autoscaler: { updateConfig: (c: AutoscalingConfig) => updates.push(c) },
  }]]);
  const h: ControlHost & { project: Project } = {
    apis,
    project,
    maxReplicasPerApi: 3,
    logTap: new LogFanout(),
    endpointOf: (api) =>
      apiEndpointUrl(api, { hostname: "0.0.0.0", port: 8888, grpcPort: 9000 }),
    setProject: (p) => {
      h.project = p;
      events.push(`setProject ${p.dir}`);
    },
    addApi: (api) => {
      events.push(`addApi ${api.name}`);
      return Promise.resolve();
    },
    removeApi: (name) => {
      apis.delete(name);
      events.push(`removeApi ${name}`);
      return Promise.resolve();
    },
    onError: (message, error) =>
      events.push(`error ${message}: ${(error as Error).message}`),
  };
  return { h, pool, updates, events };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("createServerTarget() snapshots pools: replicas, cap, in-flight, endpoint", () => {
  const { h } = host();
  const snap = createServerTarget(h).get("iris")!;
  assert.deepEqual(snap.replicas, { ready: 1, desired: 1, cap: 3 });
  assert.equal(snap.inFlight, 2);
  assert.equal(snap.endpoint, "http://localhost:8888/iris");
  assert.equal(createServerTarget(h).get("nope"), null);
  assert.equal(createServerTarget(h).list().length, 1);
});

Deno.test("createServerTarget().patch() scales in place for autoscaling, rolls out otherwise", async () => {
  const { h, pool, updates, events } = host();
  const target = createServerTarget(h);
  const scaled = applyPatch(
    pool.api,
    { autoscaling: { max_replicas: 2 } },
    h.project.files,
    parseApiConfigs,
  );
  await target.patch("iris", scaled);
  assert.equal(pool.api, scaled);
  assert.deepEqual(pool.log, ["scaleTo 1 max=2"]);
  assert.equal(updates.length, 1);
  await target.patch(
    "iris",
    applyPatch(
      pool.api,
      { handler: { path: "fail.ts" } },
      h.project.files,
      parseApiConfigs,
    ),
  );
  await tick();
  assert.deepEqual(pool.log.slice(1), ["rollOut fail.ts"]);
  assert.deepEqual(events, [
    'error Roll-out of API "iris" failed: constructor threw',
  ]);
  // The pool kept the served config (as ReplicaPool does when new replicas
  // fail): the autoscaler goes back to its settings too.
  assert.equal(updates.length, 3);
  assert.deepEqual(updates[2], scaled.autoscaling);
});

Deno.test("createServerTarget().deploy() adds new APIs, rolls out existing ones, refuses another project", async () => {
  const { h, pool, events } = host();
  const target = createServerTarget(h);
  await target.deploy(
    [fakeApi("name: other\nhandler: { path: handler.ts }")],
    null,
  );
  await target.deploy([pool.api], { ...h.project, dir: "/proj" });
  assert.deepEqual(events, ["addApi other", "setProject /proj"]);
  assert.deepEqual(pool.log, ["rollOut handler.ts"]);
  assert.throws(
    () => target.deploy([pool.api], { ...h.project, dir: "/elsewhere" }),
    (e) => e instanceof ControlError && e.status === 400,
  );
});

Deno.test("createServerTarget() refreshes with the same config and deletes through the host", async () => {
  const { h, pool, events } = host();
  const target = createServerTarget(h);
  await target.refresh("iris");
  assert.deepEqual(pool.log, ["rollOut handler.ts"]);
  await target.delete("iris");
  assert.deepEqual(events, ["removeApi iris"]);
  await assert.rejects(
    async () => await target.refresh("iris"),
    /No API named "iris"/,
  );
});

Deno.test("apiEndpointUrl() shows gRPC APIs on the gRPC port", () => {
  const api = fakeApi(
    "name: g\nhandler: { path: handler.ts, protobuf_path: api.proto }",
  );
  assert.equal(
    apiEndpointUrl(api, { hostname: "127.0.0.1", port: 1, grpcPort: 9000 }),
    "grpc://127.0.0.1:9000",
  );
});
