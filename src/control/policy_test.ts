import assert from "node:assert/strict";
import { noControlGrants } from "../config/handler_config.ts";
import type { ControlGrants } from "../config/resolved_config.ts";
import { ControlError } from "./client.ts";
import { createControlRouter } from "./control_routes.ts";
import {
  allows,
  authorize,
  authorizeProjectDeploy,
  checkHandlerChange,
  type ControlCaller,
  endpointsOverlap,
  GATED_ACTIONS,
  grantsToSpec,
  redact,
  REDACTED,
} from "./policy.ts";
import { fakeApi, fakeSnapshot, FakeTarget, FIXTURE } from "./_testing.ts";

function caller(api: string, over: Partial<ControlGrants> = {}): ControlCaller {
  return { api, grants: { ...noControlGrants(), ...over } };
}

/** What authorize() throws, or null. */
function denial(fn: () => void): ControlError | null {
  try {
    fn();
    return null;
  } catch (error) {
    assert.ok(error instanceof ControlError);
    return error;
  }
}

// ---- the policy table ----

Deno.test("policy: by default every gated action is refused, on any API, itself included", () => {
  const hostile = caller("hostile");
  for (const action of GATED_ACTIONS) {
    for (const target of ["victim", "hostile"]) {
      assert.equal(allows(hostile.grants, action, target), false);
      const error = denial(() => authorize(hostile, action, target));
      assert.equal(error?.status, 403, `${action} ${target}`);
    }
  }
  assert.equal(denial(() => authorizeProjectDeploy(hostile))?.status, 403);
});

Deno.test("policy: a denial names the caller, the action, the target and the cortex.yaml key", () => {
  const hostile = caller("hostile");
  const cases: [typeof GATED_ACTIONS[number], string][] = [
    ["read_env", 'see the handler.env values of API "victim"'],
    ["logs", 'read the logs of API "victim"'],
    ["patch", 'patch API "victim"'],
    ["refresh", 'refresh API "victim"'],
    ["delete", 'delete API "victim"'],
    ["deploy", 'deploy API "victim"'],
  ];
  for (const [action, what] of cases) {
    assert.equal(
      denial(() => authorize(hostile, action, "victim"))?.message,
      `API "hostile" may not ${what}: add "victim" (or "*") to handler.control.${action} of API "hostile" in cortex.yaml`,
    );
  }
  assert.equal(
    denial(() => authorizeProjectDeploy(hostile))?.message,
    'API "hostile" may not deploy the project directory (it reloads every API): add "*" to handler.control.deploy of API "hostile" in cortex.yaml',
  );
});

Deno.test("policy: grants allow exactly the named APIs, or every API with *", () => {
  const c = caller("ops", { patch: ["victim"], logs: ["*"], deploy: ["*"] });
  assert.equal(allows(c.grants, "patch", "victim"), true);
  assert.equal(allows(c.grants, "patch", "other"), false);
  assert.equal(allows(c.grants, "patch", "ops"), false);
  assert.equal(allows(c.grants, "logs", "anything"), true);
  assert.equal(allows(c.grants, "delete", "victim"), false);
  assert.equal(denial(() => authorize(c, "patch", "victim")), null);
  assert.equal(denial(() => authorizeProjectDeploy(c)), null);
  assert.equal(
    denial(() => authorizeProjectDeploy(caller("x", { deploy: ["a", "b"] })))
      ?.status,
    403,
  );
});

Deno.test("policy: redact() hides handler.env values unless read_env names the API", () => {
  const victim = {
    name: "victim",
    spec: { handler: { env: { KEY: "secret", OTHER: "x" }, path: "v.ts" } },
  } as never;
  const hidden = redact(victim, caller("hostile"));
  assert.deepEqual(
    hidden.spec.handler,
    { env: { KEY: REDACTED, OTHER: REDACTED }, path: "v.ts" },
  );
  // The original is not modified.
  assert.equal(
    (victim as { spec: { handler: { env: { KEY: string } } } }).spec.handler
      .env.KEY,
    "secret",
  );
  assert.equal(redact(victim, caller("ops", { readEnv: ["victim"] })), victim);
  assert.equal(redact(victim, caller("ops", { readEnv: ["*"] })), victim);
  assert.notEqual(
    redact(victim, caller("ops", { readEnv: ["other"] })),
    victim,
  );
});

Deno.test("policy: grantsToSpec() lists every action in cortex.yaml form", () => {
  assert.deepEqual(grantsToSpec({ ...noControlGrants(), readEnv: ["a"] }), {
    read_env: ["a"],
    logs: [],
    patch: [],
    refresh: [],
    delete: [],
    deploy: [],
  });
});

// ---- checkHandlerChange(): never handler.control, overlapping paths or the placeholder ----

const VICTIM = fakeApi(
  "name: victim\nhandler: { path: handler.ts, env: { KEY: secret } }",
);
const OPS = fakeApi("name: ops\nhandler: { path: handler.ts }");

Deno.test("checkHandlerChange(): handler.control stays as the operator set it", () => {
  const c = caller("ops", { patch: ["ops", "victim"], deploy: ["*"] });
  const escalated = structuredClone(OPS);
  escalated.handler.control.delete = ["*"];
  const e = denial(() => checkHandlerChange(c, "patch", OPS, escalated, []));
  assert.equal(e?.status, 403);
  assert.match(
    e!.message,
    /^API "ops" may not change handler\.control of API "ops": grants are given by the operator only/,
  );
  // A new API deployed by a handler gets no grants either.
  const fresh = fakeApi(
    "name: fresh\nhandler: { path: handler.ts, control: { logs: [victim] } }",
  );
  assert.equal(
    denial(() => checkHandlerChange(c, "deploy", null, fresh, []))?.status,
    403,
  );
  // Same grants in another order: not a change.
  const before = structuredClone(OPS);
  before.handler.control.patch = ["a", "b"];
  const after = structuredClone(OPS);
  after.handler.control.patch = ["b", "a"];
  assert.equal(
    denial(() => checkHandlerChange(c, "patch", before, after, [])),
    null,
  );
});

Deno.test("checkHandlerChange(): an endpoint overlapping another API needs the same grant on it", () => {
  const c = caller("ops", { deploy: ["evil"], patch: ["victim"] });
  const running = [VICTIM, OPS];
  for (const endpoint of ["/victim", "/victim/login", "/"]) {
    const evil = fakeApi(
      `name: evil\nhandler: { path: handler.ts }\nnetworking: { endpoint: "${endpoint}" }`,
    );
    const e = denial(() =>
      checkHandlerChange(c, "deploy", null, evil, running)
    );
    assert.equal(e?.status, 403, endpoint);
    assert.match(
      e!.message,
      new RegExp(
        `may not deploy API "evil" on "${endpoint}": it overlaps the endpoint "/(victim|ops)" of API "(victim|ops)"; add "(victim|ops)" \\(or "\\*"\\) to handler\\.control\\.deploy`,
      ),
    );
  }
  const fine = fakeApi(
    "name: evil\nhandler: { path: handler.ts }\nnetworking: { endpoint: /victimized }",
  );
  assert.equal(
    denial(() => checkHandlerChange(c, "deploy", null, fine, running)),
    null,
  );
  // With the grant on the other API, nesting is the operator's choice.
  const wide = caller("ops", { deploy: ["evil", "victim"] });
  const nested = fakeApi(
    "name: evil\nhandler: { path: handler.ts }\nnetworking: { endpoint: /victim/login }",
  );
  assert.equal(
    denial(() => checkHandlerChange(wide, "deploy", null, nested, running)),
    null,
  );
  // An unchanged endpoint is not checked again (the operator set it).
  const moved = structuredClone(VICTIM);
  moved.autoscaling.maxReplicas = 2;
  assert.equal(
    denial(() => checkHandlerChange(c, "patch", VICTIM, moved, running)),
    null,
  );
});

Deno.test("checkHandlerChange(): the redaction placeholder is refused as an env value", () => {
  const c = caller("ops", { patch: ["victim"] });
  const clobbered = structuredClone(VICTIM);
  clobbered.handler.env.KEY = REDACTED;
  const e = denial(() => checkHandlerChange(c, "patch", VICTIM, clobbered, []));
  assert.equal(e?.status, 400);
  assert.match(e!.message, /handler\.env\.KEY is the placeholder "<redacted>"/);
});

Deno.test("endpointsOverlap(): equal, below or above, by path segment", () => {
  assert.equal(endpointsOverlap("/a", "/a"), true);
  assert.equal(endpointsOverlap("/a/b", "/a"), true);
  assert.equal(endpointsOverlap("/a", "/a/b"), true);
  assert.equal(endpointsOverlap("/", "/a"), true);
  assert.equal(endpointsOverlap("/ab", "/a"), false);
  assert.equal(endpointsOverlap("/b", "/a"), false);
});

// ---- createControlRouter(): the policy over a (fake) server ----

function target(): FakeTarget {
  return new FakeTarget([
    fakeSnapshot(VICTIM),
    fakeSnapshot(OPS),
  ]);
}

function request(
  method: string,
  path: string,
  body?: unknown,
): Request {
  return new Request(`http://cortex.runtime${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

Deno.test("createControlRouter(): a handler reads every API with env values hidden; the operator sees them", async () => {
  const t = target();
  const route = createControlRouter(t);
  const list = await (await route(request("GET", "/apis"), caller("ops")))
    .json();
  assert.deepEqual(list.apis[0].spec.handler.env, { KEY: REDACTED });
  const get = await route(request("GET", "/apis/victim"), caller("ops"));
  assert.equal(get.status, 200);
  assert.deepEqual((await get.json()).spec.handler.env, { KEY: REDACTED });
  const operator = await route(request("GET", "/apis/victim"), null);
  assert.deepEqual((await operator.json()).spec.handler.env, { KEY: "secret" });
});

Deno.test("createControlRouter(): a refused call touches nothing and answers 403", async () => {
  const t = target();
  const route = createControlRouter(t);
  const calls: [string, string, unknown?][] = [
    ["PATCH", "/apis/victim", { autoscaling: { max_replicas: 2 } }],
    ["DELETE", "/apis/victim"],
    ["POST", "/apis/victim/refresh"],
    ["GET", "/apis/victim/logs"],
    ["POST", "/apis", { yaml: "name: x\nhandler: { path: handler.ts }" }],
    ["POST", "/apis", { projectDir: FIXTURE }],
    // Unknown APIs too: a denial does not tell whether the API exists.
    ["DELETE", "/apis/nope"],
  ];
  for (const [method, path, body] of calls) {
    const res = await route(request(method, path, body), caller("hostile"));
    assert.equal(res.status, 403, `${method} ${path}`);
    assert.match((await res.json()).error, /^API "hostile" may not /);
  }
  assert.deepEqual(t.calls, []);
});

Deno.test("createControlRouter(): granted calls go through, still under the handler-only checks", async () => {
  const t = target();
  const route = createControlRouter(t);
  const ops = caller("ops", { patch: ["victim"], deploy: ["fresh"] });
  const patched = await route(
    request("PATCH", "/apis/victim", { autoscaling: { max_replicas: 2 } }),
    ops,
  );
  assert.equal(patched.status, 200);
  // The answer is redacted too (read_env was not granted).
  assert.deepEqual((await patched.json()).spec.handler.env, { KEY: REDACTED });
  assert.equal(t.calls.length, 1);
  const deployed = await route(
    request("POST", "/apis", {
      yaml: "name: fresh\nhandler: { path: handler.ts }",
    }),
    ops,
  );
  assert.equal(deployed.status, 202);
  const escalate = await route(
    request("PATCH", "/apis/victim", {
      handler: { control: { delete: ["*"] } },
    }),
    ops,
  );
  assert.equal(escalate.status, 403);
  await escalate.body?.cancel();
  assert.equal(t.calls.length, 2);
});

Deno.test("createControlRouter(): the server's allow_net rules apply to every deploy and patch, the operator's too", async () => {
  const t = target();
  t.netRules = () => ({
    allowLoopback: false,
    ownPorts: [{ port: 8888, what: "HTTP" }],
  });
  const route = createControlRouter(t);
  for (const entry of ["127.0.0.1:5432", "example.com:8888", "example.com"]) {
    const res = await route(
      request("PATCH", "/apis/victim", { handler: { allow_net: [entry] } }),
      null,
    );
    assert.equal(res.status, 400, entry);
    assert.match(
      (await res.json()).error,
      /^patch of API "victim": handler\.allow_net\[0\] is /,
    );
    const deployed = await route(
      request("POST", "/apis", {
        yaml: `name: x\nhandler: { path: handler.ts, allow_net: ["${entry}"] }`,
      }),
      null,
    );
    assert.equal(deployed.status, 400, entry);
    await deployed.body?.cancel();
  }
  assert.deepEqual(t.calls, []);
});
