/**
 * Both ends of the gRPC bridge in one process, over a real Unix socket: the
 * serving side (`GrpcBridgeServer` on the real `PoolGrpcBackend` and
 * shared-memory admission counters) and the gRPC process side
 * (`RemoteBackend`), with a fake replica.
 */

import assert from "node:assert/strict";
import { RemoteBackend } from "../grpc_process/remote_backend.ts";
import type {
  GrpcFromReplica,
  GrpcLease,
  GrpcToReplica,
} from "../grpc/common/protocol.ts";
import { Logger } from "../log/logger.ts";
import { GrpcBridgeServer } from "./grpc_bridge_server.ts";
import { effectiveDeadline, PoolGrpcBackend } from "./grpc_backend.ts";
import type { Replica } from "./replica.ts";
import type { ReplicaPool } from "./replica_pool.ts";

const API = {
  name: "echo",
  protobufPath: "echo.proto",
  handlerMethods: ["Say"],
};

async function until(what: string, ok: () => boolean, ms = 3_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A replica that upper-cases the request at `grpc.end` (unless holding) and
 * ends a cancelled call with CANCELLED, like the real one.
 */
class FakeReplica {
  readonly id = "echo-1";
  readonly slot = 0;
  hold = false;
  readonly seen: GrpcToReplica[] = [];
  readonly #texts = new Map<number, string>();
  deliver: (msg: GrpcFromReplica) => void = () => {};

  send(wrapped: { type: "grpc"; msg: GrpcToReplica }): void {
    const msg = wrapped.msg;
    this.seen.push(msg);
    const callId = msg.callId;
    if (msg.type === "grpc.message") {
      this.#texts.set(callId, (msg.message as { text: string }).text);
    } else if (msg.type === "grpc.end" && !this.hold) this.answer(callId);
    else if (msg.type === "grpc.cancel") {
      this.deliver({
        type: "grpc.done",
        callId,
        code: 1,
        details: "Cancelled",
      });
    }
  }

  /** Replies to call `callId` (a lease's id) and ends it OK. */
  answer(callId: number): void {
    const text = this.#texts.get(callId) ?? "";
    this.deliver({
      type: "grpc.message",
      callId,
      message: { $typeName: "echo.Res", text: text.toUpperCase(), n: 1n },
    });
    this.deliver({ type: "grpc.done", callId, code: 0, details: "" });
  }
}

/** The serving side, the gRPC side and a way to make calls. */
async function setUp(limit = 10) {
  const dir = await Deno.makeTempDir({ prefix: "bridge-test-" });
  const path = `${dir}/grpc.sock`;
  const logs: string[] = [];
  const logger = new Logger({
    level: "debug",
    labels: {},
    write: (lines) => logs.push(...lines),
  });
  // The pool's admission: calls held, up to `limit`.
  const admission = { inFlight: 0, limit };
  const replica = new FakeReplica();
  const pool = {
    api: { name: API.name, handler: { requestTimeoutMs: 60_000 } },
    acquire: () =>
      admission.inFlight < admission.limit
        ? (admission.inFlight++, replica)
        : null,
    release: () => void admission.inFlight--,
  } as unknown as ReplicaPool;
  const pools = new PoolGrpcBackend((name) =>
    name === API.name ? pool : undefined
  );
  replica.deliver = (msg) => pools.deliver(msg, replica as unknown as Replica);
  const state = { serving: true };
  const bridge = () =>
    new GrpcBridgeServer({
      path,
      backend: pools,
      apis: [API],
      isServing: () => state.serving,
      shutdownGraceMs: 1_000,
      logger,
      pollMs: 10,
    });
  const server = bridge();
  await server.listen();
  const hellos: unknown[] = [];
  const health: [string, boolean][] = [];
  const remote = new RemoteBackend({
    path,
    logger,
    onHello: (h) => hellos.push(h),
    onServing: (api, serving) => health.push([api, serving]),
    minBackoffMs: 5,
    maxBackoffMs: 20,
  });
  const running = remote.run();
  await until("the gRPC side to connect", () => remote.connected);

  /** Starts a unary call from the gRPC side. */
  const call = (
    text: string,
    api = API.name,
    deadline: number | null = null,
  ) => {
    const lease = remote.admit(api);
    const messages: unknown[] = [];
    const result = Promise.withResolvers<
      { done?: GrpcFromReplica; lost?: string; messages: unknown[] }
    >();
    lease.onMessage((msg) => {
      if (msg.type === "grpc.message") messages.push(msg.message);
      if (msg.type === "grpc.done") {
        lease.release();
        result.resolve({ done: msg, messages });
      }
    });
    lease.onLost((lost) => {
      lease.release();
      result.resolve({ lost, messages });
    });
    const id = lease.callId;
    lease.post({
      type: "grpc.start",
      callId: id,
      api,
      service: "echo.Echo",
      method: "Say",
      kind: "unary",
      metadata: {},
      deadline,
      requestId: `r-${id}`,
    });
    lease.post({ type: "grpc.message", callId: id, message: { text } });
    lease.post({ type: "grpc.end", callId: id });
    return { lease, result: result.promise };
  };

  const tearDown = async (...more: GrpcBridgeServer[]) => {
    remote.stop();
    await running;
    await server.close();
    for (const s of more) await s.close();
    await new Promise((r) => setTimeout(r, 20));
    await Deno.remove(dir, { recursive: true });
  };
  return {
    path,
    logs,
    admission,
    replica,
    pools,
    state,
    server,
    bridge,
    remote,
    hellos,
    health,
    call,
    tearDown,
  };
}

const leaseIds = (r: FakeReplica, type: GrpcToReplica["type"]) =>
  r.seen.filter((m) => m.type === type).map((m) => m.callId);

Deno.test("grpc bridge: hello, health changes and the reported port", async () => {
  const t = await setUp();
  try {
    assert.deepEqual(t.hellos, [{
      type: "hello",
      apis: [{ ...API, serving: true }],
      shutdownGraceMs: 1_000,
    }]);
    assert.ok(t.remote.isServing("echo"));
    assert.ok(!t.remote.isServing("other"));
    t.state.serving = false;
    await until("NOT_SERVING", () => !t.remote.isServing("echo"));
    assert.deepEqual(t.health.at(-1), ["echo", false]);
    t.state.serving = true;
    await until("SERVING", () => t.remote.isServing("echo"));
    assert.equal(t.server.port, null);
    t.remote.setPort(4321);
    assert.equal(await t.server.waitForPort(2_000), 4321);
  } finally {
    await t.tearDown();
  }
});

Deno.test("grpc bridge: calls round trip, ids are mapped, admission returns to 0", async () => {
  const t = await setUp();
  try {
    (t.pools.admit("echo") as GrpcLease).release(); // lease ids now start at 2
    const results = await Promise.all(
      ["a", "b", "c"].map((text) => t.call(text).result),
    );
    assert.deepEqual(
      results.map((r) => [r.messages, r.done]),
      ["A", "B", "C"].map((text, i) => [
        [{ $typeName: "echo.Res", text, n: 1n }],
        { type: "grpc.done", callId: i + 1, code: 0, details: "" },
      ]),
    );
    // The replica saw the serving process's lease ids, not the gRPC side's.
    assert.deepEqual(leaseIds(t.replica, "grpc.start").sort(), [2, 3, 4]);
    assert.equal(t.replica.seen.length, 9);
    assert.equal(t.admission.inFlight, 0);
    assert.equal(t.admission.inFlight, 0);
    assert.equal(t.server.openCalls, 0);
    assert.equal(t.remote.openCalls, 0);
  } finally {
    await t.tearDown();
  }
});

Deno.test("effectiveDeadline() is the earlier of the client's and request_timeout", () => {
  assert.equal(effectiveDeadline(null, 1_000, 500), 1_500);
  assert.equal(effectiveDeadline(1_200, 1_000, 500), 1_200);
  assert.equal(effectiveDeadline(9_000, 1_000, 500), 1_500);
});

Deno.test("grpc bridge: the replica gets the deadline bounded by handler.request_timeout", async () => {
  const t = await setUp();
  try {
    const before = Date.now();
    const soon = before + 5_000;
    await t.call("none").result;
    await t.call("early", API.name, soon).result;
    await t.call("late", API.name, before + 3_600_000).result;
    const deadlines = t.replica.seen.flatMap((m) =>
      m.type === "grpc.start" ? [m.deadline] : []
    );
    assert.equal(deadlines.length, 3);
    const [none, early, late] = deadlines as number[];
    // The fake API's request_timeout is 60 s.
    assert.ok(none! >= before + 60_000 && none! <= Date.now() + 60_000);
    assert.equal(early, soon);
    assert.ok(late! >= before + 60_000 && late! <= Date.now() + 60_000);
  } finally {
    await t.tearDown();
  }
});

Deno.test("grpc bridge: over the limit, and for an unknown API → UNAVAILABLE", async () => {
  const t = await setUp(1);
  try {
    t.replica.hold = true;
    const held = t.call("held");
    await until("the held call to start", () => t.admission.inFlight === 1);
    const refused = await t.call("refused").result;
    assert.equal(refused.done?.type, "grpc.done");
    const done = refused.done as Extract<
      GrpcFromReplica,
      { type: "grpc.done" }
    >;
    assert.equal(done.code, 14);
    assert.match(done.details, /API "echo" is at its concurrency limit/);
    const unknown = await t.call("x", "nope").result;
    assert.equal((unknown.done as typeof done).code, 14);
    t.replica.answer(leaseIds(t.replica, "grpc.start")[0]!);
    assert.equal((await held.result).messages.length, 1);
    assert.equal(t.admission.inFlight, 0);
  } finally {
    await t.tearDown();
  }
});

Deno.test("grpc bridge: a replica's replies to a call another replica holds reach nothing", async () => {
  const t = await setUp();
  try {
    t.replica.hold = true;
    const held = t.call("held");
    await until(
      "the call to reach the replica",
      () => leaseIds(t.replica, "grpc.end").length === 1,
    );
    const id = leaseIds(t.replica, "grpc.start")[0]!;
    // Another replica (of this API or another) answers and ends that call.
    const other = { id: "other-1" } as unknown as Replica;
    t.pools.deliver({
      type: "grpc.message",
      callId: id,
      message: new TextEncoder().encode("forged"),
    }, other);
    t.pools.deliver(
      { type: "grpc.done", callId: id, code: 0, details: "" },
      other,
    );
    const early = await Promise.race([
      held.result,
      new Promise((r) => setTimeout(() => r("still open"), 100)),
    ]);
    assert.equal(early, "still open");
    assert.equal(t.admission.inFlight, 1);
    t.replica.answer(id);
    const { done, messages } = await held.result;
    assert.equal((done as { code: number }).code, 0);
    assert.deepEqual(
      messages.map((m) => (m as { text: string }).text),
      ["HELD"],
    );
  } finally {
    await t.tearDown();
  }
});

Deno.test("grpc bridge: a replica dying during a call → UNAVAILABLE naming the reason", async () => {
  const t = await setUp();
  try {
    t.replica.hold = true;
    const held = t.call("held");
    await until(
      "the call to reach the replica",
      () => leaseIds(t.replica, "grpc.end").length === 1,
    );
    t.pools.replicaExited(t.replica as unknown as Replica, {
      reason: "crashed",
      message: "boom",
    });
    const { done } = await held.result;
    assert.equal((done as { code: number }).code, 14);
    assert.match(
      (done as { details: string }).details,
      /Replica of API "echo" stopped during the call: replica "echo-1" crashed: boom/,
    );
    assert.equal(t.server.openCalls, 0);
  } finally {
    await t.tearDown();
  }
});

Deno.test("grpc bridge: when the gRPC side goes away its calls are cancelled and released", async () => {
  const t = await setUp();
  try {
    t.replica.hold = true;
    const held = [t.call("one"), t.call("two")];
    await until("both calls admitted", () => t.server.openCalls === 2);
    assert.equal(t.admission.inFlight, 2);
    assert.equal(t.admission.inFlight, 2);
    t.remote.stop(); // as when the gRPC process dies: the socket closes
    const lost = await Promise.all(held.map((h) => h.result));
    assert.deepEqual(lost.map((r) => r.lost), [
      "the serving process is unavailable (restarting?)",
      "the serving process is unavailable (restarting?)",
    ]);
    await until("the leases to be released", () => t.server.openCalls === 0);
    assert.equal(t.admission.inFlight, 0);
    assert.equal(t.admission.inFlight, 0);
    assert.deepEqual(
      leaseIds(t.replica, "grpc.cancel").sort(),
      leaseIds(t.replica, "grpc.start").sort(),
      "every call cancelled in the replica",
    );
    assert.ok(
      t.logs.some((l) => l.includes("cancelled 2 call(s) in flight")),
      "logged",
    );
  } finally {
    await t.tearDown();
  }
});

Deno.test("grpc bridge: the gRPC side loses its calls when the serving side goes, then reconnects", async () => {
  const t = await setUp();
  const second = t.bridge();
  try {
    t.replica.hold = true;
    const held = t.call("held");
    t.remote.setPort(5555);
    await until("the call to be admitted", () => t.server.openCalls === 1);
    await t.server.close();
    assert.match((await held.result).lost ?? "", /serving process/);
    await until("disconnected", () => !t.remote.connected);
    assert.ok(!t.remote.isServing("echo"));
    assert.deepEqual(t.health.at(-1), ["echo", false]);
    // While disconnected a new call is lost at once.
    assert.match((await t.call("lost").result).lost ?? "", /unavailable/);
    assert.equal(t.admission.inFlight, 0);

    await second.listen();
    await until("the reconnect", () => t.remote.connected);
    assert.equal(t.hellos.length, 2);
    assert.equal(await second.waitForPort(2_000), 5555, "port reported again");
    t.replica.hold = false;
    assert.deepEqual((await t.call("again").result).messages, [
      { $typeName: "echo.Res", text: "AGAIN", n: 1n },
    ]);
  } finally {
    await t.tearDown(second);
  }
});

Deno.test("grpc bridge: shutdown reports NOT_SERVING and waits for calls in flight", async () => {
  const t = await setUp();
  try {
    t.replica.hold = true;
    const held = t.call("slow");
    await until(
      "the call to reach the replica",
      () => leaseIds(t.replica, "grpc.end").length === 1,
    );
    t.state.serving = false; // the server's draining flag
    const stopped = t.server.shutdown(5_000);
    await until("NOT_SERVING", () => !t.remote.isServing("echo"));
    assert.equal(t.server.openCalls, 1);
    t.replica.answer(leaseIds(t.replica, "grpc.start")[0]!);
    assert.deepEqual((await held.result).messages.length, 1);
    await stopped;
    await until("disconnected", () => !t.remote.connected);
    assert.equal(t.admission.inFlight, 0);
  } finally {
    await t.tearDown();
  }
});
