import assert from "node:assert/strict";
import { ConfigError } from "../config/config_error.ts";
import { parseApiConfigs } from "../config/parse_api_configs.ts";
import { apiToSpec, applyPatch, configChange, mergeSpec } from "./api_spec.ts";

const FILES = ["handler.ts", "other.ts", "api.proto"];
const YAML = `
- name: iris
  handler:
    path: handler.ts
    protobuf_path: api.proto
    config: { threshold: 0.5 }
    env: { MODEL: small }
    server_side_batching: { max_batch_size: 8, batch_interval: 150ms }
    request_timeout: 1m30s
    allow_net: ["example.com:443"]
    access_log: 0.25
  compute: { cpu: 500m, mem: 256Mi }
  autoscaling:
    min_replicas: 2
    max_replicas: 6
    init_replicas: 3
    target_replica_concurrency: 2.5
    window: 2s
    panic_mode: true
  update_strategy: { max_surge: 1, max_unavailable: "0%" }
`;

const parse = (text: string) =>
  parseApiConfigs(text, "cortex.yaml", new Set(FILES))[0]!;

Deno.test("apiToSpec() gives a spec that parses back to the same configuration", () => {
  const api = parse(YAML);
  const again = parse(JSON.stringify(apiToSpec(api)));
  assert.deepEqual({ ...again, line: 0 }, { ...api, line: 0 });
  const plain = parse("name: a\nhandler: { path: handler.ts }");
  assert.deepEqual({ ...parse(JSON.stringify(apiToSpec(plain))), line: 0 }, {
    ...plain,
    line: 0,
  });
});

Deno.test("apiToSpec() leaves derived fields out when they equal the derived value", () => {
  const spec = apiToSpec(parse("name: a\nhandler: { path: handler.ts }"));
  const auto = spec.autoscaling as Record<string, unknown>;
  assert.equal("init_replicas" in auto, false);
  assert.equal("target_replica_concurrency" in auto, false);
  assert.equal("panic_window" in auto, false);
});

Deno.test("mergeSpec() merges mappings, replaces the rest and removes null", () => {
  const merged = mergeSpec(
    { a: { b: 1, c: 2 }, d: [1], e: "x" },
    { a: { c: 3 }, d: [2], e: null },
  );
  assert.deepEqual(merged, { a: { b: 1, c: 3 }, d: [2] });
});

Deno.test("applyPatch() changes autoscaling and keeps the rest", () => {
  const api = parse(YAML);
  const next = applyPatch(
    api,
    { autoscaling: { max_replicas: 8 } },
    FILES,
    parseApiConfigs,
  );
  assert.equal(next.autoscaling.maxReplicas, 8);
  assert.equal(next.autoscaling.minReplicas, 2);
  assert.deepEqual(next.handler, api.handler);
  assert.equal(configChange(api, next), "scaling");
});

Deno.test("applyPatch() rejects a rename and an invalid value, naming the field", () => {
  const api = parse(YAML);
  assert.throws(
    () => applyPatch(api, { name: "other" }, FILES, parseApiConfigs),
    /cannot be renamed/,
  );
  try {
    applyPatch(
      api,
      { autoscaling: { max_replicas: 0 } },
      FILES,
      parseApiConfigs,
    );
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.match(
      error.message,
      /^patch of API "iris": autoscaling\.max_replicas is 0/,
    );
    assert.equal(error.issues[0]!.line, 0);
  }
});

Deno.test("configChange() tells none, scaling and rollout apart", () => {
  const api = parse(YAML);
  assert.equal(configChange(api, { ...api, line: 99 }), "none");
  assert.equal(
    configChange(
      api,
      applyPatch(
        api,
        { handler: { path: "other.ts" } },
        FILES,
        parseApiConfigs,
      ),
    ),
    "rollout",
  );
});
