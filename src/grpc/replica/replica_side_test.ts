import assert from "node:assert/strict";
import { Code } from "../common/grpc_error.ts";
import type {
  GrpcFromReplica,
  GrpcToReplica,
  MethodKind,
} from "../common/protocol.ts";
import { createGrpcReplicaSide } from "./replica_side.ts";
import type { GrpcCallInfo } from "../common/call_info.ts";

function harness(handler: object) {
  const sent: GrpcFromReplica[] = [];
  const done = Promise.withResolvers<GrpcFromReplica>();
  const slot = { held: 0, released: Promise.withResolvers<void>() };
  const side = createGrpcReplicaSide({
    handler,
    post: (msg) => {
      sent.push(structuredClone(msg));
      if (msg.type === "grpc.done") done.resolve(msg);
    },
    logError: () => {},
    runWithSlot: async (fn) => {
      slot.held++;
      try {
        return await fn();
      } finally {
        slot.held--;
        slot.released.resolve();
      }
    },
  });
  const start = (
    method: string,
    kind: MethodKind,
    deadline: number | null = null,
  ): void =>
    side.onMessage({
      type: "grpc.start",
      callId: 1,
      api: "a",
      service: "s.S",
      method,
      kind,
      metadata: {},
      deadline,
      requestId: "r",
    });
  const send = (msg: Partial<GrpcToReplica> & { type: string }) =>
    side.onMessage({ callId: 1, ...msg } as GrpcToReplica);
  return { side, sent, done: done.promise, slot, start, send };
}

Deno.test("createGrpcReplicaSide() reports a missing method as UNIMPLEMENTED", async () => {
  const h = harness({});
  h.start("Predict", "unary");
  const done = await h.done;
  assert.equal(done.type === "grpc.done" && done.code, Code.UNIMPLEMENTED);
  // The ended call is forgotten: its id starts a new call.
  await new Promise((r) => setTimeout(r, 0));
  h.start("Predict", "unary");
  assert.equal(h.sent.filter((m) => m.type === "grpc.done").length, 2);
});

Deno.test("createGrpcReplicaSide() rejects a streaming method that returns no iterable", async () => {
  const h = harness({ Predict: () => 5 });
  h.start("Predict", "server_stream");
  h.send({ type: "grpc.message", message: {} });
  h.send({ type: "grpc.end" });
  const done = await h.done;
  assert.equal(done.type === "grpc.done" && done.code, Code.INTERNAL);
});

Deno.test("createGrpcReplicaSide() sends headers before the first message and refuses later ones", async () => {
  let late: unknown;
  const h = harness({
    async *Chat(reqs: AsyncIterable<unknown>, info: GrpcCallInfo) {
      info.setHeader("x-h", "1");
      for await (const _ of reqs) yield {};
      try {
        info.setHeader("x-late", "1");
      } catch (err) {
        late = err;
      }
    },
  });
  h.start("Chat", "bidi");
  h.send({ type: "grpc.message", message: {} });
  h.send({ type: "grpc.end" });
  await h.done;
  assert.deepEqual(h.sent.map((m) => m.type), [
    "grpc.header",
    "grpc.message",
    "grpc.done",
  ]);
  assert.match(String(late), /Cannot set header "x-late"/);
});

Deno.test("createGrpcReplicaSide() rejects invalid metadata keys", async () => {
  const h = harness({
    Predict: (_: unknown, info: GrpcCallInfo) => {
      info.setTrailer("Bad Key", "v");
      return {};
    },
  });
  h.start("Predict", "unary");
  h.send({ type: "grpc.message", message: {} });
  h.send({ type: "grpc.end" });
  const done = await h.done;
  assert.equal(done.type === "grpc.done" && done.code, Code.INTERNAL);
});

Deno.test("createGrpcReplicaSide() ends a call at its deadline and frees its slot, even if the handler ignores the signal", async () => {
  let aborted: unknown;
  const late = Promise.withResolvers<unknown>();
  const h = harness({
    Predict: (_: unknown, info: GrpcCallInfo) => {
      info.signal.addEventListener("abort", () => aborted = info.signal.reason);
      return late.promise; // never looks at the signal
    },
  });
  const started = Date.now();
  h.start("Predict", "unary", Date.now() + 50);
  h.send({ type: "grpc.message", message: {} });
  h.send({ type: "grpc.end" });
  const done = await h.done;
  assert.equal(done.type === "grpc.done" && done.code, Code.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - started < 1_000);
  assert.equal((aborted as { code?: number })?.code, Code.DEADLINE_EXCEEDED);
  await h.slot.released.promise;
  assert.equal(h.slot.held, 0, "the slot is free while the handler runs on");
  // Its late answer is dropped.
  late.resolve({});
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(h.sent.map((m) => m.type), ["grpc.done"]);
});

Deno.test("createGrpcReplicaSide() pulls a stream's next message only while its window has room", async () => {
  let pulled = 0;
  const sent: GrpcFromReplica[] = [];
  const side = createGrpcReplicaSide({
    handler: {
      async *Flood() {
        for (;;) {
          pulled++;
          yield new Uint8Array(100);
        }
      },
    },
    post: (msg) => void sent.push(msg),
    logError: () => {},
    runWithSlot: (fn) => fn(),
    // Bytes in, bytes out, as over the replica's socket.
    codecs: () => ({
      outputName: "x.Bytes",
      decode: (b) => b,
      encode: (v) => v as Uint8Array,
    }),
  });
  side.onMessage({
    type: "grpc.start",
    callId: 1,
    api: "a",
    service: "s.S",
    method: "Flood",
    kind: "server_stream",
    metadata: {},
    deadline: null,
    requestId: "r",
    window: 250,
  });
  side.onMessage({
    type: "grpc.message",
    callId: 1,
    message: new Uint8Array(),
  });
  side.onMessage({ type: "grpc.end", callId: 1 });
  const settle = () => new Promise((r) => setTimeout(r, 20));
  await settle();
  // 100 + 100 < 250, 300 >= 250: three sent, the fourth not pulled.
  assert.equal(sent.length, 3);
  assert.equal(pulled, 3);
  side.onMessage({ type: "grpc.credit", callId: 1, bytes: 100 });
  await settle();
  assert.equal(sent.length, 4, "credit for one message lets one more go");
  side.onMessage({ type: "grpc.cancel", callId: 1 });
  await settle();
  assert.equal(sent.at(-1)?.type, "grpc.done");
  assert.equal(sent.length, 5, "a waiting stream ends at the cancel");
});
