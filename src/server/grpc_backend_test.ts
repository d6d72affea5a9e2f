/**
 * Flow control of streamed gRPC responses in the serving process: the
 * window it gives a streaming call, the credit it relays, and the replica
 * it replaces for sending beyond the window (a replica that ignores credit
 * would otherwise make this process and the gRPC process buffer without
 * bound for a client that does not read).
 */

import assert from "node:assert/strict";
import {
  GRPC_STREAM_WINDOW_BYTES,
  type GrpcFromReplica,
  type GrpcLease,
  type GrpcToReplica,
  type MethodKind,
} from "../grpc/common/protocol.ts";
import { PoolGrpcBackend } from "./grpc_backend.ts";
import type { Replica } from "./replica.ts";
import type { ReplicaPool } from "./replica_pool.ts";

function setUp() {
  const sent: GrpcToReplica[] = [];
  const kills: string[] = [];
  const replica = {
    id: "echo-1",
    send: (m: { msg: GrpcToReplica }) => void sent.push(m.msg),
    kill: (_reason: string, message: string) => void kills.push(message),
  } as unknown as Replica;
  const pool = {
    api: { name: "echo", handler: { requestTimeoutMs: 60_000 } },
    acquire: () => replica,
    release: () => {},
  } as unknown as ReplicaPool;
  const backend = new PoolGrpcBackend(() => pool);
  const start = (kind: MethodKind, window?: number) => {
    const lease = backend.admit("echo") as GrpcLease;
    const got: GrpcFromReplica[] = [];
    lease.onMessage((m) => got.push(m));
    lease.post({
      type: "grpc.start",
      callId: lease.callId,
      api: "echo",
      service: "echo.Echo",
      method: "Say",
      kind,
      metadata: {},
      deadline: null,
      requestId: "r",
      ...(window === undefined ? {} : { window }),
    });
    const respond = (bytes: number) =>
      backend.deliver({
        type: "grpc.message",
        callId: lease.callId,
        message: new Uint8Array(bytes),
      }, replica);
    return { lease, got, respond };
  };
  return { sent, kills, start };
}

Deno.test("grpc backend: a streaming call gets the window, whatever the gRPC process asked", () => {
  const t = setUp();
  t.start("server_stream", 1 << 30);
  t.start("bidi");
  t.start("unary", 1 << 30);
  const windows = t.sent.map((m) =>
    m.type === "grpc.start" ? m.window : "not a start"
  );
  assert.deepEqual(windows, [
    GRPC_STREAM_WINDOW_BYTES,
    GRPC_STREAM_WINDOW_BYTES,
    undefined,
  ]);
});

Deno.test("grpc backend: a replica that sends beyond its call's window is replaced", () => {
  const t = setUp();
  const call = t.start("server_stream");
  const half = GRPC_STREAM_WINDOW_BYTES / 2;
  call.respond(half);
  call.respond(half);
  // Credit returned: room for more.
  call.lease.post({
    type: "grpc.credit",
    callId: call.lease.callId,
    bytes: half,
  });
  call.respond(half);
  assert.deepEqual(t.kills, []);
  assert.equal(call.got.length, 3);
  assert.ok(
    t.sent.some((m) => m.type === "grpc.credit" && m.bytes === half),
    "the credit reaches the replica",
  );
  // The window is used up: one more response without credit.
  call.respond(1);
  assert.equal(call.got.length, 3, "the excess response is not relayed");
  assert.equal(t.kills.length, 1);
  assert.match(
    t.kills[0]!,
    new RegExp(
      `^sent a gRPC response beyond its call's flow-control window of ${GRPC_STREAM_WINDOW_BYTES} bytes \\(call \\d+\\); replaced$`,
    ),
  );
});

Deno.test("grpc backend: unary responses are not counted against a window", () => {
  const t = setUp();
  const call = t.start("unary");
  call.respond(GRPC_STREAM_WINDOW_BYTES);
  call.respond(GRPC_STREAM_WINDOW_BYTES);
  assert.deepEqual(t.kills, []);
  assert.equal(call.got.length, 2);
});
