/**
 * The control plane: the handler over a fake target (every operation, auth,
 * errors), the loopback-only server, the client and the state file. The CLI
 * commands are tested in src/cli/control_commands_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ControlError, CortexClient } from "./client.ts";
import { startControlPlane } from "./control_plane.ts";
import { startControlServer } from "./control_server.ts";
import { createControlHandler } from "./control_routes.ts";
import { readSse } from "./sse.ts";
import { readStateFile } from "./state_file.ts";
import {
  BAD_FIXTURE,
  type FakeTarget,
  FIXTURE,
  IRIS_YAML as IRIS,
  sampleTarget as newTarget,
  TEST_TOKEN as TOKEN,
} from "./_testing.ts";

function call(
  target: FakeTarget,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string | null } = {},
): Promise<Response> {
  const token = opts.token === undefined ? TOKEN : opts.token;
  return createControlHandler(target, TOKEN)(
    new Request(`http://127.0.0.1${path}`, {
      method,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      ...(opts.body === undefined ? {} : {
        body: typeof opts.body === "string"
          ? opts.body
          : JSON.stringify(opts.body),
      }),
    }),
  );
}

// ---- createControlHandler() with a fake target ----

Deno.test("createControlHandler() answers 401 without a token, with a wrong one, or with another scheme", async () => {
  const target = newTarget();
  for (const token of [null, "wrong-token", `${TOKEN}x`, ""]) {
    const res = await call(target, "GET", "/apis", { token });
    assert.equal(res.status, 401, `token ${token}`);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="cortex"');
    assert.match((await res.json()).error, /Missing or invalid control token/);
  }
  const basic = await createControlHandler(target, TOKEN)(
    new Request("http://127.0.0.1/apis/iris", {
      method: "DELETE",
      headers: { authorization: `Basic ${TOKEN}` },
    }),
  );
  assert.equal(basic.status, 401);
  await basic.body?.cancel();
  assert.deepEqual(target.calls, []);
});

Deno.test("createControlHandler() lists APIs with status, replicas, in-flight and endpoint", async () => {
  const res = await call(newTarget(), "GET", "/apis");
  assert.equal(res.status, 200);
  const { apis } = await res.json();
  assert.deepEqual(apis.map((a: { name: string }) => a.name), ["iris", "grpc"]);
  assert.equal(apis[0].status, "live");
  assert.deepEqual(apis[0].replicas, { ready: 2, desired: 2, cap: 4 });
  assert.equal(apis[0].inFlight, 3);
  assert.equal(apis[0].queued, 1);
  assert.equal(apis[0].endpoint, "http://localhost:8888/iris");
  assert.equal(apis[1].status, "error");
  assert.equal(apis[1].error, "Handler constructor failed: boom");
});

Deno.test("createControlHandler() gets one API with its cortex.yaml spec, 404 when unknown", async () => {
  const target = newTarget();
  const api = await (await call(target, "GET", "/apis/iris")).json();
  assert.equal(api.kind, "RealtimeAPI");
  assert.equal(api.spec.autoscaling.max_replicas, 4);
  assert.equal(api.spec.handler.path, "handler.ts");
  for (
    const [method, path] of [
      ["GET", "/apis/nope"],
      ["PATCH", "/apis/nope"],
      ["DELETE", "/apis/nope"],
      ["POST", "/apis/nope/refresh"],
      ["GET", "/apis/nope/logs"],
    ]
  ) {
    const res = await call(
      target,
      method!,
      path!,
      method === "PATCH" ? { body: {} } : {},
    );
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal((await res.json()).error, 'No API named "nope" is deployed');
  }
  assert.equal((await call(target, "GET", "/other")).status, 404);
  assert.equal((await call(target, "GET", "/apis/iris/other")).status, 404);
});

Deno.test("createControlHandler() answers 405 with Allow for a wrong method", async () => {
  const target = newTarget();
  const res = await call(target, "PUT", "/apis/iris");
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET, PATCH, DELETE");
  await res.body?.cancel();
  const refresh = await call(target, "GET", "/apis/iris/refresh");
  assert.equal(refresh.headers.get("allow"), "POST");
  await refresh.body?.cancel();
});

Deno.test("createControlHandler() deploys YAML: created, updated or unchanged", async () => {
  const target = newTarget();
  const yaml = `- ${
    IRIS.replaceAll("\n", "\n  ")
  }\n- name: new-api\n  handler: { path: handler.ts }\n`;
  const res = await call(target, "POST", "/apis", {
    body: { yaml, file: "apis.yaml" },
  });
  assert.equal(res.status, 202);
  assert.deepEqual((await res.json()).apis, [
    { name: "iris", action: "unchanged" },
    { name: "new-api", action: "created" },
  ]);
  assert.deepEqual(target.calls, [{
    op: "deploy",
    names: ["new-api"],
    projectDir: null,
  }]);
  const again = await call(target, "POST", "/apis", {
    body: { yaml: IRIS.replace("max_replicas: 4", "max_replicas: 3") },
  });
  assert.deepEqual((await again.json()).apis, [{
    name: "iris",
    action: "updated",
  }]);
  const same = await call(target, "POST", "/apis", {
    body: { yaml: IRIS.replace("max_replicas: 4", "max_replicas: 3") },
  });
  assert.equal(same.status, 200);
  await same.body?.cancel();
  assert.equal(target.calls.length, 2);
});

Deno.test("createControlHandler() deploys a project directory as updates with the reloaded project", async () => {
  const target = newTarget();
  const res = await call(target, "POST", "/apis", {
    body: { projectDir: FIXTURE },
  });
  assert.equal(res.status, 202);
  assert.deepEqual((await res.json()).apis, [
    { name: "iris", action: "updated" },
    { name: "echo", action: "created" },
  ]);
  assert.deepEqual(target.calls, [{
    op: "deploy",
    names: ["iris", "echo"],
    projectDir: FIXTURE,
  }]);
});

Deno.test("createControlHandler() answers 400 for a bad spec, naming the file and line", async () => {
  const target = newTarget();
  const yaml =
    "- name: iris\n  handler:\n    path: handler.ts\n  autoscaling:\n    max_replicas: 0\n";
  const res = await call(target, "POST", "/apis", {
    body: { yaml, file: "api.yaml" },
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.deepEqual(body.issues, [
    "api.yaml:5: autoscaling.max_replicas is 0: must be at least 1",
  ]);
  assert.equal(body.error, body.issues[0]);
  const dir = await call(target, "POST", "/apis", {
    body: { projectDir: BAD_FIXTURE },
  });
  assert.equal(dir.status, 400);
  assert.match(
    (await dir.json()).error,
    /control_bad\/cortex\.yaml:5: autoscaling\.max_replicas is 0/,
  );
  const syntax = await call(target, "POST", "/apis", {
    body: { yaml: "- name: [", file: "x.yaml" },
  });
  assert.match((await syntax.json()).error, /^x\.yaml:1: invalid YAML/);
  const relative = await call(target, "POST", "/apis", {
    body: { projectDir: "tests/fixtures/control" },
  });
  assert.match((await relative.json()).error, /must be an absolute path/);
  const neither = await call(target, "POST", "/apis", { body: { other: 1 } });
  assert.equal(neither.status, 400);
  await neither.body?.cancel();
  const json = await call(target, "POST", "/apis", { body: "{not json" });
  assert.equal(json.status, 400);
  assert.match(
    (await json.json()).error,
    /Cannot parse the request body as JSON/,
  );
  assert.deepEqual(target.calls, []);
});

Deno.test("createControlHandler() answers 409 when an endpoint is taken by another API", async () => {
  const target = newTarget();
  const res = await call(target, "POST", "/apis", {
    body: {
      yaml:
        "name: other\nhandler: { path: handler.ts }\nnetworking: { endpoint: /iris }",
    },
  });
  assert.equal(res.status, 409);
  assert.match(
    (await res.json()).error,
    /endpoint "\/iris" is used by API "iris"/,
  );
});

Deno.test("createControlHandler() patches autoscaling in place after validating the merge", async () => {
  const target = newTarget();
  const res = await call(target, "PATCH", "/apis/iris", {
    body: { autoscaling: { min_replicas: 2, max_replicas: 6 } },
  });
  assert.equal(res.status, 200);
  const api = await res.json();
  assert.equal(api.spec.autoscaling.max_replicas, 6);
  const patchCall = target.calls[0];
  assert.equal(patchCall?.op, "patch");
  assert.equal(
    patchCall.op === "patch" && patchCall.api.autoscaling.minReplicas,
    2,
  );
  const bad = await call(target, "PATCH", "/apis/iris", {
    body: { autoscaling: { max_replica: 3 } },
  });
  assert.equal(bad.status, 400);
  assert.match(
    (await bad.json()).error,
    /^patch of API "iris": autoscaling\.max_replica is not a known field/,
  );
  const rename = await call(target, "PATCH", "/apis/iris", {
    body: { name: "x" },
  });
  assert.equal(rename.status, 400);
  await rename.body?.cancel();
  const noop = await call(target, "PATCH", "/apis/iris", {
    body: { autoscaling: { max_replicas: 6 } },
  });
  assert.equal(noop.status, 200);
  await noop.body?.cancel();
  assert.equal(target.calls.length, 1);
});

Deno.test("createControlHandler() refreshes and deletes", async () => {
  const target = newTarget();
  const refresh = await call(target, "POST", "/apis/iris/refresh");
  assert.equal(refresh.status, 202);
  assert.deepEqual(await refresh.json(), {
    name: "iris",
    action: "refreshing",
  });
  const del = await call(target, "DELETE", "/apis/iris");
  assert.equal(del.status, 200);
  assert.deepEqual(await del.json(), { name: "iris", action: "deleted" });
  assert.deepEqual(target.calls, [{ op: "refresh", name: "iris" }, {
    op: "delete",
    name: "iris",
  }]);
  assert.equal((await call(target, "GET", "/apis/iris")).status, 404);
});

Deno.test("createControlHandler() maps target errors: ControlError keeps its status, others are 500", async () => {
  const target = newTarget();
  target.failWith = new ControlError(
    409,
    'Cannot refresh API "iris": a roll-out is in progress',
  );
  const conflict = await call(target, "POST", "/apis/iris/refresh");
  assert.equal(conflict.status, 409);
  assert.match((await conflict.json()).error, /roll-out is in progress/);
  target.failWith = new Error("disk on fire");
  const internal = await call(target, "DELETE", "/apis/iris");
  assert.equal(internal.status, 500);
  assert.equal(
    (await internal.json()).error,
    "Control operation failed: disk on fire",
  );
});

Deno.test("createControlHandler() streams an API's log lines as server-sent events, history first", async () => {
  const target = newTarget();
  const line = (api: string, msg: string) =>
    JSON.stringify({
      levelname: "INFO",
      message: msg,
      labels: { apiName: api },
    });
  target.logs.publish(
    `${line("iris", "old-1")}\n${line("grpc", "other")}\n${
      line("iris", "old-2")
    }\n`,
  );
  const abort = new AbortController();
  const res = await createControlHandler(target, TOKEN)(
    new Request("http://127.0.0.1/apis/iris/logs?tail=1", {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: abort.signal,
    }),
  );
  assert.equal(res.status, 200);
  const events = readSse(res.body!);
  assert.equal(JSON.parse((await events.next()).value).message, "old-2");
  target.logs.publish(`${line("grpc", "skip")}\n${line("iris", "new")}\n`);
  assert.equal(JSON.parse((await events.next()).value).message, "new");
  abort.abort();
  assert.equal((await events.next()).done, true);
  assert.equal(target.logs.subscribers, 0);
  const badTail = await call(target, "GET", "/apis/iris/logs?tail=-1");
  assert.equal(badTail.status, 400);
  await badTail.body?.cancel();
});

// ---- startControlServer(): loopback only ----

function nonLoopbackAddress(): string | null {
  try {
    const found = Deno.networkInterfaces().find((i) =>
      i.family === "IPv4" && !i.address.startsWith("127.")
    );
    return found?.address ?? null;
  } catch {
    return null;
  }
}

const EXTERNAL = nonLoopbackAddress();

Deno.test(
  EXTERNAL === null
    ? "startControlServer() binds 127.0.0.1 only (non-loopback refusal SKIPPED: this machine has no non-loopback IPv4 interface)"
    : `startControlServer() binds 127.0.0.1 only and refuses connections on ${EXTERNAL}`,
  async () => {
    const server = await startControlServer({
      target: newTarget(),
      token: TOKEN,
      port: 0,
    });
    try {
      assert.equal(server.url, `http://127.0.0.1:${server.port}`);
      assert.notEqual(server.port, 0);
      const client = new CortexClient({ url: server.url, token: TOKEN });
      assert.equal((await client.list()).length, 2);
      if (EXTERNAL !== null) {
        await assert.rejects(
          Deno.connect({ hostname: EXTERNAL, port: server.port }),
          (e) => e instanceof Deno.errors.ConnectionRefused,
        );
      }
    } finally {
      await server.shutdown();
    }
  },
);

Deno.test("CortexClient does every operation against a running control server", async () => {
  const target = newTarget();
  const server = await startControlServer({ target, token: TOKEN, port: 0 });
  try {
    const client = new CortexClient({ url: server.url, token: TOKEN });
    assert.equal((await client.get("iris")).replicas.ready, 2);
    assert.deepEqual(
      await client.deploy({ yaml: "name: b\nhandler: { path: handler.ts }" }),
      [{ name: "b", action: "created" }],
    );
    assert.deepEqual(
      (await client.patch("b", { autoscaling: { max_replicas: 2 } })).spec
        .autoscaling,
      (await client.get("b")).spec.autoscaling,
    );
    await client.refresh("b");
    await client.delete("b");
    const err = await client.get("b").catch((e) => e);
    assert.ok(err instanceof ControlError);
    assert.equal(err.status, 404);
    const bad = await client.deploy({
      yaml: "name: c\nhandler: { path: nope.ts }",
      file: "c.yaml",
    }).catch((e) => e);
    assert.equal(bad.status, 400);
    assert.match(bad.issues[0], /^c\.yaml:2: handler\.path is "nope\.ts"/);
    const denied = await new CortexClient({ url: server.url, token: "nope" })
      .list().catch((e) => e);
    assert.equal(denied.status, 401);
    const abort = new AbortController();
    const logs = client.logs("iris", { signal: abort.signal, tail: 0 })
      [Symbol.asyncIterator]();
    const first = logs.next();
    // The subscription exists once the response started; publish until seen.
    const timer = setInterval(
      () =>
        target.logs.publish(
          '{"levelname":"INFO","message":"hello","labels":{"apiName":"iris"}}\n',
        ),
      20,
    );
    assert.match((await first).value, /hello/);
    clearInterval(timer);
    abort.abort();
    assert.equal((await logs.next()).done, true);
    // The server notices the client went away and drops the subscription.
    for (let i = 0; i < 100 && target.logs.subscribers > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      target.logs.publish(
        '{"levelname":"INFO","message":"ping","labels":{"apiName":"iris"}}\n',
      );
    }
    assert.equal(target.logs.subscribers, 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("startControlServer().shutdown() ends open log streams", async () => {
  const target = newTarget();
  const server = await startControlServer({ target, token: TOKEN, port: 0 });
  const client = new CortexClient({ url: server.url, token: TOKEN });
  const logs = client.logs("iris")[Symbol.asyncIterator]();
  const next = logs.next();
  for (let i = 0; i < 100 && target.logs.subscribers === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(target.logs.subscribers, 1);
  await server.shutdown();
  assert.equal((await next).done, true);
  assert.equal(target.logs.subscribers, 0);
});

// ---- startControlPlane(): token and state file ----

Deno.test("startControlPlane() reports a state file it cannot write, and generates a token", async () => {
  const plane = await startControlPlane({
    target: newTarget(),
    port: 0,
    env: () => undefined,
  });
  try {
    assert.match(plane.token, /^[A-Za-z0-9_-]{43}$/);
    const written = await plane.writeState({ httpPort: 1, projectDir: "/p" });
    assert.equal(written.path, null);
    assert.match(written.error!, /neither XDG_RUNTIME_DIR nor HOME/);
  } finally {
    await plane.shutdown();
  }
});

Deno.test({
  name:
    "startControlPlane() writes a mode 0600 state file with port and token, removed on shutdown",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const runtime = await Deno.makeTempDir();
    const env = (n: string) =>
      ({ XDG_RUNTIME_DIR: runtime, CORTEX_CONTROL_TOKEN: TOKEN } as Record<
        string,
        string
      >)[n];
    const plane = await startControlPlane({
      target: newTarget(),
      port: 0,
      env,
    });
    try {
      const written = await plane.writeState({
        httpPort: 18888,
        projectDir: "/p",
      });
      assert.deepEqual(written, {
        path: join(runtime, "cortex", "18888.json"),
        error: null,
      });
      assert.equal((await Deno.stat(written.path!)).mode! & 0o777, 0o600);
      const state = await readStateFile(written.path!);
      assert.equal(state?.controlPort, plane.port);
      assert.equal(state?.token, TOKEN);
      assert.equal(state?.url, `http://127.0.0.1:${plane.port}`);
      assert.deepEqual(plane.endpoint, { url: plane.url, token: TOKEN });
      assert.equal(state?.projectDir, "/p");
    } finally {
      await plane.shutdown();
      assert.equal(
        await readStateFile(join(runtime, "cortex", "18888.json")),
        null,
      );
      await Deno.remove(runtime, { recursive: true });
    }
  },
});
