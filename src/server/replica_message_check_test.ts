import assert from "node:assert/strict";
import {
  BadReplicaMessage,
  checkFromReplica,
} from "./replica_message_check.ts";
import { ownLines } from "./replica_log_check.ts";
import { LATENCY_BUCKETS } from "../metrics/request_stats.ts";

const buckets = () => new Array(LATENCY_BUCKETS.length + 1).fill(0);

Deno.test("checkFromReplica() passes the runtime's own messages", () => {
  const good = [
    { type: "ready", methods: ["handleGet"], listening: true },
    { type: "failed", message: "boom", stack: "at x" },
    { type: "log", chunk: "{}\n" },
    {
      type: "http.response",
      id: 3,
      res: { status: 200, headers: [["a", "b"]], body: new Uint8Array(1) },
    },
    {
      type: "forward.request",
      id: 1,
      api: null,
      req: { method: "GET", url: "http://x/healthz", headers: [], body: null },
    },
    { type: "forward.cancel", id: 1 },
    {
      type: "stats",
      id: 2,
      stats: { "200": { count: 1, sum: 0.1, buckets: buckets() } },
      custom: [{ name: "my_gauge", type: "gauge", tags: { a: "b" }, value: 1 }],
    },
    { type: "drained" },
    { type: "load", load: 1, queued: 0, rss: 1e6, handedOff: 0 },
    {
      type: "grpc",
      msg: { type: "grpc.done", callId: 4, code: 0, details: "" },
    },
  ];
  for (const msg of good) assert.equal(checkFromReplica(msg).type, msg.type);
});

Deno.test("checkFromReplica() refuses forged or malformed messages, naming the field", () => {
  const bad: [unknown, RegExp][] = [
    [null, /not an object/],
    [{ type: "http.response", id: 1, res: null }, /res is not an object/],
    [{ type: "http.response", id: -1, res: {} }, /id is not/],
    [
      {
        type: "http.response",
        id: 1,
        res: { status: 99, headers: [], body: null },
      },
      /res.status/,
    ],
    [
      { type: "stats", id: 1, stats: null, custom: [] },
      /stats is not an object/,
    ],
    [
      {
        type: "stats",
        id: 1,
        stats: {},
        custom: [{ name: "x\ny", type: "gauge", tags: {}, value: 1 }],
      },
      /custom holds a series/,
    ],
    [
      {
        type: "stats",
        id: 1,
        stats: {},
        custom: [{ name: "cortex_fake", type: "gauge", tags: {}, value: 1 }],
      },
      /custom holds a series/,
    ],
    [
      { type: "load", load: Infinity, queued: 0, rss: 0, handedOff: 0 },
      /load is not/,
    ],
    [
      { type: "grpc", msg: { type: "grpc.start", callId: 1 } },
      /not a gRPC reply/,
    ],
    [{ type: "hello", nonce: "x" }, /not a replica message/],
    [{ type: "init" }, /not a replica message/],
  ];
  for (const [msg, why] of bad) {
    assert.throws(() => checkFromReplica(msg), (e: Error) => {
      assert.ok(e instanceof BadReplicaMessage);
      assert.match(e.message, why);
      return true;
    });
  }
});

Deno.test("ownLines() keeps the replica's own lines and wraps every other", () => {
  const owner = { apiName: "a", replicaId: "a-1" };
  const own = JSON.stringify({
    message: "hi",
    labels: { apiName: "a", replicaId: "a-1" },
  });
  const forged = JSON.stringify({
    message: "x",
    labels: { apiName: "b", replicaId: "b-1" },
  });
  const out = ownLines(
    `${own}\n${forged}\nraw text\n`,
    owner,
    (t) => `W(${t})`,
  );
  assert.equal(out, `${own}\nW(${forged})\nW(raw text)\n`);
});
