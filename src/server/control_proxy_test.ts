import assert from "node:assert/strict";
import { ControlError } from "../control/client.ts";
import type {
  ControlFromReplica,
  ControlToReplica,
} from "../control/proxy_messages.ts";
import { fakeApi, fakeSnapshot, FakeTarget } from "../control/_testing.ts";
import { ProxiedControl } from "../replica/control_client.ts";
import { ControlProxy } from "./control_proxy.ts";

/**
 * A replica of `api` wired to a proxy the way the server wires them:
 * messages are structured-cloned, as postMessage does.
 */
function wire(proxy: ControlProxy, api: string) {
  const replica = {};
  const sent: ControlFromReplica[] = [];
  const received: ControlToReplica[] = [];
  const toReplica = (msg: ControlToReplica) => {
    received.push(structuredClone(msg));
    side.onMessage(structuredClone(msg));
  };
  const side: ProxiedControl = new ProxiedControl((msg) => {
    sent.push(structuredClone(msg));
    proxy.onMessage(structuredClone(msg), replica, { api, send: toReplica });
  });
  return { replica, client: side.client, sent, received };
}

function target(): FakeTarget {
  return new FakeTarget([
    fakeSnapshot(
      fakeApi("name: victim\nhandler: { path: handler.ts, env: { K: v } }"),
    ),
    fakeSnapshot(
      fakeApi(
        "name: ops\nhandler: { path: handler.ts, control: { logs: [victim], patch: [victim] } }",
      ),
    ),
  ]);
}

Deno.test("ControlProxy + ProxiedControl: ctx.client calls carry no token and run as the sending API", async () => {
  const t = target();
  const proxy = new ControlProxy(t);
  const hostile = wire(proxy, "victim");
  const list = await hostile.client.list();
  assert.deepEqual(list.map((a) => a.name), ["victim", "ops"]);
  assert.deepEqual(list[0]!.spec.handler, {
    ...(list[0]!.spec.handler as object),
    env: { K: "<redacted>" },
  });
  // The identity is the sender's, so "victim" cannot patch itself either.
  const denied = await hostile.client.patch("victim", {}).catch((e) => e);
  assert.ok(denied instanceof ControlError);
  assert.equal(denied.status, 403);
  assert.match(denied.message, /^API "victim" may not patch API "victim"/);
  assert.deepEqual(t.calls, []);
  assert.equal(hostile.client.url, "cortex:runtime");
  // Nothing that crossed names a token or an address.
  const wireText = JSON.stringify([hostile.sent, hostile.received]);
  assert.doesNotMatch(wireText, /authorization|bearer|127\.0\.0\.1/i);
  // Grants are read at each call: the sender's current configuration.
  const ops = wire(proxy, "ops");
  const patched = await ops.client.patch("victim", {
    autoscaling: { max_replicas: 2 },
  });
  assert.equal(
    (patched.spec.autoscaling as { max_replicas: number }).max_replicas,
    2,
  );
  assert.equal(proxy.openCalls, 0);
});

Deno.test("ControlProxy: log streams cross as chunks and end when the handler stops reading", async () => {
  const t = target();
  const proxy = new ControlProxy(t);
  const ops = wire(proxy, "ops");
  const line = (msg: string) =>
    JSON.stringify({ message: msg, labels: { apiName: "victim" } });
  t.logs.publish(line("old") + "\n");
  const abort = new AbortController();
  const lines = ops.client.logs("victim", { signal: abort.signal, tail: 1 })
    [Symbol.asyncIterator]();
  assert.equal(JSON.parse((await lines.next()).value).message, "old");
  const next = lines.next();
  t.logs.publish(line("new") + "\n");
  assert.equal(JSON.parse((await next).value).message, "new");
  abort.abort();
  assert.equal((await lines.next()).done, true);
  for (let i = 0; i < 50 && proxy.openCalls > 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(proxy.openCalls, 0);
  assert.equal(t.logs.subscribers, 0);
  assert.ok(ops.sent.some((m) => m.type === "control.cancel"));
  // Another API's logs are refused.
  const hostile = wire(proxy, "victim");
  const denied = await hostile.client.logs("ops").next().catch((e) => e);
  assert.equal(denied.status, 403);
});

Deno.test("ControlProxy.forget() ends the calls of a replica that exited", async () => {
  const t = target();
  const proxy = new ControlProxy(t);
  const ops = wire(proxy, "ops");
  const lines = ops.client.logs("victim")[Symbol.asyncIterator]();
  const pending = lines.next();
  for (let i = 0; i < 50 && t.logs.subscribers === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(proxy.openCalls, 1);
  proxy.forget(ops.replica);
  assert.equal(proxy.openCalls, 0);
  for (let i = 0; i < 50 && t.logs.subscribers > 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(t.logs.subscribers, 0);
  // The replica is gone in real life; here its stream just never ends.
  void pending;
});

Deno.test("ControlProxy: malformed messages are answered 400 or dropped, never thrown", async () => {
  const t = target();
  const proxy = new ControlProxy(t, { maxOpen: 1 });
  const answers: ControlToReplica[] = [];
  const from = {
    api: "victim",
    send: (m: ControlToReplica) => answers.push(m),
  };
  const bad: unknown[] = [
    null,
    42,
    "control.request",
    { type: "control.request" },
    { type: "control.request", id: -1, method: "GET", path: "/apis" },
    { type: "control.request", id: 1.5, method: "GET", path: "/apis" },
    { type: "control.cancel", id: "x" },
    { type: "control.cancel", id: 99 },
    { type: "something.else", id: 1 },
  ];
  const statuses = (): [number, number][] =>
    answers.map((a) => [a.id, (a as { status: number }).status]);
  for (const msg of bad) proxy.onMessage(msg, {}, from);
  assert.equal(answers.length, 0);
  const replica = {};
  const requests = [
    { id: 1, method: "PUT", path: "/apis", body: null },
    { id: 2, method: "GET", path: "/etc/passwd", body: null },
    { id: 3, method: "GET", path: "/apis", body: 5 },
    { id: 4, method: "DELETE", path: "/apis/x", body: "{}" },
    { id: 5, method: "POST", path: "/apis", body: "x".repeat(2_000_000) },
  ];
  for (const r of requests) {
    proxy.onMessage({ type: "control.request", ...r }, replica, from);
  }
  assert.deepEqual(
    statuses(),
    [
      [1, 400],
      [2, 400],
      [3, 400],
      [4, 400],
      [5, 400],
    ],
  );
  // The sender throwing (its replica just ended) is not our problem.
  proxy.onMessage(
    {
      type: "control.request",
      id: 9,
      method: "GET",
      path: "/nope",
      body: null,
    },
    replica,
    {
      api: "victim",
      send: () => {
        throw new Error("gone");
      },
    },
  );
  // At most maxOpen calls at once per replica.
  answers.length = 0;
  const slow = { ...from };
  const logs = { type: "control.request", method: "GET", body: null };
  proxy.onMessage({ ...logs, id: 20, path: "/apis/victim" }, {}, slow);
  const busy = {};
  t.apis.get("victim")!.config.handler.control.logs = ["victim"];
  proxy.onMessage({ ...logs, id: 21, path: "/apis/victim/logs" }, busy, slow);
  proxy.onMessage({ ...logs, id: 22, path: "/apis" }, busy, slow);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    statuses().sort(),
    [[20, 200], [21, 200], [22, 429]],
  );
  proxy.forget(busy);
  assert.equal(proxy.openCalls, 0);
});

Deno.test("ProxiedControl: a body over the control API's limit is answered in the replica, never sent", async () => {
  const t = target();
  const ops = wire(new ControlProxy(t), "ops");
  const huge = { autoscaling: { max_replicas: 2 }, pad: "é".repeat(1 << 20) };
  const refused = await ops.client.patch("victim", huge).catch((e) => e);
  assert.ok(refused instanceof ControlError);
  assert.equal(refused.status, 400);
  assert.match(refused.message, /Control call body is over 1048576 bytes/);
  assert.deepEqual(ops.sent, []);
  assert.deepEqual(t.calls, []);
});
