import { emptyStreamSnapshot } from "../metrics/stream_stats.ts";
import assert from "node:assert/strict";
import {
  BadReplicaMessage,
  checkFromReplica,
} from "./replica_message_check.ts";
import { ownLines } from "./replica_log_check.ts";
import { LATENCY_BUCKETS } from "../metrics/request_stats.ts";
import { emptyBatchSnapshot } from "../metrics/batch_stats.ts";

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
    {
      type: "forward.request",
      id: 2,
      api: null,
      req: { method: "GET", url: "http://x/a", headers: [], body: null },
      client: "2001:db8::1",
    },
    { type: "edge.take", id: 1, bucket: "api" },
    { type: "edge.take", id: 2, bucket: "key:HELLO_KEYS#1" },
    { type: "edge.take", id: 3, bucket: "client:127.0.0.1" },
    { type: "forward.cancel", id: 1 },
    {
      type: "stats",
      id: 2,
      stats: { "200": { count: 1, sum: 0.1, buckets: buckets() } },
      custom: [{ name: "my_gauge", type: "gauge", tags: { a: "b" }, value: 1 }],
    },
    {
      type: "stats",
      id: 3,
      stats: {},
      custom: [],
      batches: emptyBatchSnapshot(),
    },
    {
      type: "stats",
      id: 4,
      stats: {},
      custom: [],
      streams: emptyStreamSnapshot(),
    },
    {
      type: "http.response",
      id: 5,
      res: { status: 200, headers: [], body: null },
      streaming: true,
    },
    { type: "http.chunk", id: 5, chunk: new Uint8Array(3) },
    { type: "http.end", id: 5 },
    { type: "http.end", id: 6, error: true },
    { type: "forward.credit", id: 7, n: 1 },
    { type: "drained" },
    { type: "load", load: 1, queued: 0, rss: 1e6, handedOff: 0, reconnects: 0 },
    {
      type: "grpc",
      msg: { type: "grpc.done", callId: 4, code: 0, details: "" },
    },
    {
      type: "grpc",
      msg: { type: "grpc.message", callId: 4, message: new Uint8Array([8, 1]) },
    },
    { type: "trace.spans", spans: [SPAN, { ...SPAN, links: [SPAN] }] },
    { type: "ws.send", id: 1, data: "hello" },
    { type: "ws.send", id: 1, data: new Uint8Array([0, 255]) },
    { type: "ws.close", id: 1 },
    { type: "ws.close", id: 1, code: 1011, reason: "Internal server error" },
    { type: "ws.close", id: 1, code: 4000 },
  ];
  for (const msg of good) assert.equal(checkFromReplica(msg).type, msg.type);
});

const SPAN = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  parentSpanId: "00f067aa0ba902b8",
  name: "POST /a",
  kind: 2,
  start: 1_700_000_000_000.5,
  end: 1_700_000_000_001.25,
  attributes: { "http.response.status_code": 200, "url.path": "/a" },
};

Deno.test("checkFromReplica() passes only the checked fields of a span", () => {
  const msg = checkFromReplica({
    type: "trace.spans",
    spans: [{ ...SPAN, extra: "smuggled", error: "boom" }],
  });
  assert.deepEqual(msg, {
    type: "trace.spans",
    spans: [{ ...SPAN, error: "boom" }],
  });
});

Deno.test("checkFromReplica() refuses malformed spans, naming the field", () => {
  const bad: [unknown, RegExp][] = [
    [{ type: "trace.spans", spans: {} }, /spans is not a list/],
    [
      { type: "trace.spans", spans: new Array(1025).fill(SPAN) },
      /spans is not a list of at most 1024/,
    ],
    [
      { type: "trace.spans", spans: [{ ...SPAN, traceId: "0".repeat(32) }] },
      /spans\[0\]\.traceId is not a valid/,
    ],
    [
      { type: "trace.spans", spans: [SPAN, { ...SPAN, spanId: "XYZ" }] },
      /spans\[1\]\.spanId/,
    ],
    [
      { type: "trace.spans", spans: [{ ...SPAN, kind: 9 }] },
      /spans\[0\]\.kind/,
    ],
    [
      { type: "trace.spans", spans: [{ ...SPAN, end: SPAN.start - 1 }] },
      /end is before its start/,
    ],
    [
      { type: "trace.spans", spans: [{ ...SPAN, start: Infinity }] },
      /start is not a time/,
    ],
    [
      { type: "trace.spans", spans: [{ ...SPAN, name: "x".repeat(257) }] },
      /spans\[0\]\.name is not a string of at most 256/,
    ],
    [
      { type: "trace.spans", spans: [{ ...SPAN, attributes: { a: {} } }] },
      /attributes\.a is not a string, number or boolean/,
    ],
    [
      {
        type: "trace.spans",
        spans: [{
          ...SPAN,
          attributes: Object.fromEntries(
            Array.from({ length: 65 }, (_, i) => [`k${i}`, i]),
          ),
        }],
      },
      /more than 64 entries/,
    ],
    [
      { type: "trace.spans", spans: [{ ...SPAN, links: [{ spanId: "1" }] }] },
      /links\[0\]\.traceId/,
    ],
    [
      {
        type: "trace.spans",
        spans: [{ ...SPAN, attributes: JSON.parse('{"__proto__":1}') }],
      },
      /__proto__/,
    ],
  ];
  for (const [msg, why] of bad) {
    assert.throws(() => checkFromReplica(msg), (e: unknown) => {
      assert.ok(e instanceof BadReplicaMessage);
      assert.match(e.message, why);
      return true;
    });
  }
});

Deno.test("checkFromReplica() refuses forged or malformed messages, naming the field", () => {
  const bad: [unknown, RegExp][] = [
    [null, /not an object/],
    [{ type: "edge.take", id: 1, bucket: "x".repeat(300) }, /bucket is not/],
    [{ type: "edge.take", id: 1, bucket: "everything" }, /not a rate-limit/],
    [{ type: "edge.take", id: 1.5, bucket: "api" }, /id is not/],
    [{ type: "edge.take", id: 1 }, /bucket is not/],
    [
      {
        type: "forward.request",
        id: 1,
        api: null,
        req: { method: "GET", url: "http://x/a", headers: [], body: null },
        client: "x".repeat(65),
      },
      /client is not/,
    ],
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
        type: "http.response",
        id: 1,
        res: { status: 200, headers: [], body: null },
        streaming: "yes",
      },
      /streaming is not true/,
    ],
    [{ type: "http.chunk", id: 1, chunk: "text" }, /chunk is not bytes/],
    [{ type: "ws.send", id: 1, data: 7 }, /data is neither text nor bytes/],
    [{ type: "ws.send", id: 1, data: { a: 1 } }, /data is neither/],
    [{ type: "ws.send", id: -1, data: "x" }, /id is not/],
    [
      { type: "ws.send", id: 1, data: new Uint8Array((64 << 20) + 1) },
      /data is over 64 MiB/,
    ],
    [{ type: "ws.close", id: 1, code: 999 }, /code is not a WebSocket close/],
    [{ type: "ws.close", id: 1, code: 5000 }, /code is not a WebSocket close/],
    [{ type: "ws.close", id: 1, code: 1000.5 }, /code is not/],
    [
      { type: "ws.close", id: 1, code: 1000, reason: "x".repeat(124) },
      /reason is not a string of at most 123/,
    ],
    [
      { type: "http.chunk", id: 1, chunk: new Uint8Array(256 * 1024 + 1) },
      /chunk has 262145 bytes, over the chunk size of 262144/,
    ],
    [
      {
        type: "http.response",
        id: 1,
        res: { status: 200, headers: [], body: new Uint8Array((1 << 20) + 1) },
      },
      /res.body has 1048577 bytes, over the 1048576 sent inline \(a larger body is streamed\)/,
    ],
    [
      {
        type: "http.response",
        id: 1,
        res: { status: 200, headers: [], body: new Uint8Array(1) },
        streaming: true,
      },
      /res.body is not null in a streamed answer/,
    ],
    [
      { type: "log", chunk: "x".repeat((16 << 20) + 1) },
      /chunk is not a string of at most 16777216/,
    ],
    [{ type: "http.chunk", id: -1, chunk: new Uint8Array(1) }, /id/],
    [{ type: "http.end", id: 1, error: "boom" }, /error is not true/],
    [{ type: "forward.credit", id: 1, n: 0 }, /n is not an integer from 1/],
    [{ type: "forward.credit", id: 1, n: 1e9 }, /n is not an integer from 1/],
    [
      { type: "stats", id: 1, stats: {}, custom: [], batches: 7 },
      /batches is not an object/,
    ],
    [
      { type: "stats", id: 1, stats: {}, custom: [], streams: [] },
      /streams is not an object/,
    ],
    [
      {
        type: "stats",
        id: 1,
        stats: {},
        custom: [],
        streams: {
          ...emptyStreamSnapshot(),
          duration: { count: 1, sum: 0, buckets: [1] },
        },
      },
      /streams.duration.buckets has the wrong length/,
    ],
    [
      {
        type: "stats",
        id: 1,
        stats: {},
        custom: [],
        batches: { ...emptyBatchSnapshot(), wait: { count: 1, sum: 0 } },
      },
      /batches.wait.buckets has the wrong length/,
    ],
    [
      {
        type: "stats",
        id: 1,
        stats: {},
        custom: [],
        batches: {
          ...emptyBatchSnapshot(),
          size: { count: -1, sum: 0, buckets: [] },
        },
      },
      /batches.size.count/,
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
      {
        type: "load",
        load: Infinity,
        queued: 0,
        rss: 0,
        handedOff: 0,
        reconnects: 0,
      },
      /load is not/,
    ],
    [
      { type: "grpc", msg: { type: "grpc.start", callId: 1 } },
      /not a gRPC reply/,
    ],
    [
      {
        type: "grpc",
        msg: { type: "grpc.message", callId: 1, message: { text: "hi" } },
      },
      /msg\.message is not bytes/,
    ],
    [
      {
        type: "grpc",
        msg: {
          type: "grpc.message",
          callId: 1,
          message: new Uint8Array((32 << 20) + 1),
        },
      },
      /msg\.message has 33554433 bytes, over the gRPC message limit of 33554432/,
    ],
    [{ type: "hello", nonce: "x" }, /not a replica message/],
    [
      {
        type: "control.request",
        id: 1,
        method: "POST",
        path: "/apis",
        body: "x".repeat((1 << 20) + 1),
      },
      /body is not a string of at most 1048576 characters/,
    ],
    [
      { type: "control.request", id: 1, method: "PUT", path: "/", body: null },
      /not a control API method/,
    ],
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

Deno.test("ownLines() keeps the replica's own lines and wraps every other, however the label is spelled", () => {
  const owner = { apiName: "a", apiKind: "RealtimeAPI", replicaId: "a-1" };
  const mine = { apiName: "a", apiKind: "RealtimeAPI", replicaId: "a-1" };
  const theirs = { apiName: "b", apiKind: "RealtimeAPI", replicaId: "b-1" };
  const own = JSON.stringify({ asctime: "t", message: "hi", labels: mine });
  const ownNested = JSON.stringify({
    asctime: "t",
    message: "hi",
    extra: { labels: "text" },
    labels: mine,
  });
  const forged = [
    JSON.stringify({ asctime: "t", message: "x", labels: theirs }),
    // A second "labels" key: the last one wins in JSON parsers.
    `{"asctime":"t","labels":${JSON.stringify(mine)},"labels":${
      JSON.stringify(theirs)
    }}`,
    // The same key spelled with an escape, or with a space before the colon.
    `{"asctime":"t","labels":${JSON.stringify(mine)},"\\u006cabels":${
      JSON.stringify(theirs)
    }}`,
    `{"asctime":"t","labels" :${JSON.stringify(theirs)}}`,
    "raw text",
  ];
  for (const line of forged) {
    const parsed = (() => {
      try {
        return JSON.parse(line).labels?.apiName;
      } catch {
        return "not json";
      }
    })();
    assert.notEqual(parsed, "a", line);
  }
  assert.equal(ownLines("\n", owner, (t) => `W(${t})`), "");
  assert.equal(ownLines(`${own}\n\n`, owner, (t) => `W(${t})`), `${own}\n`);
  const out = ownLines(
    [own, ownNested, ...forged].join("\n") + "\n",
    owner,
    (t) => `W(${t})`,
  );
  assert.deepEqual(out.split("\n").filter(Boolean), [
    own,
    ownNested,
    ...forged.map((l) => `W(${l})`),
  ]);
});
