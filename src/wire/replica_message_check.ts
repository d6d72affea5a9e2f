/**
 * Checks every message a replica process sends before the serving process
 * acts on it. A replica runs untrusted handler code in its own realm, so what
 * arrives may be forged or malformed: a message that fails here never reaches
 * the server, and the replica that sent it is replaced.
 *
 * Only the shape is checked here; whether a replica may answer a given id is
 * checked where the id is known (forwarding, gRPC backend, metrics pulls).
 *
 * @module
 */

import {
  LATENCY_BUCKETS,
  type StatsSnapshot,
} from "../metrics/request_stats.ts";
import {
  FIRST_BYTE_BUCKETS,
  STREAM_DURATION_BUCKETS,
  type StreamSnapshot,
} from "../metrics/stream_stats.ts";
import {
  BATCH_SIZE_BUCKETS,
  BATCH_WAIT_BUCKETS,
  type BatchSnapshot,
} from "../metrics/batch_stats.ts";
import { type CustomSeries, isValidSeries } from "../metrics/custom_metrics.ts";
import type {
  FromReplica,
  WireRequest,
  WireResponse,
} from "./replica_messages.ts";
import type { ConnectionStats } from "../http/guarded_server.ts";
import { MAX_BODY_BYTES } from "../control/_http.ts";
import type { SpanData, SpanKindValue } from "../trace/span.ts";
import {
  GRPC_MESSAGE_BYTES,
  type GrpcFromReplica,
} from "../grpc/common/protocol.ts";
import {
  CHUNK_BYTES,
  INLINE_BODY_BYTES,
  LOG_FRAME_CHARS,
} from "./channel_limits.ts";

/** Thrown for a message that is not what the runtime sends. */
export class BadReplicaMessage extends Error {
  override name = "BadReplicaMessage";
}

/** Largest list a replica may send (methods, headers, series). */
const MAX_ITEMS = 10_000;
const MAX_TEXT = 1 << 20;
/** Largest WebSocket message a replica may send (Deno's own frame limit). */
const MAX_MESSAGE = 64 << 20;

function fail(what: string): never {
  throw new BadReplicaMessage(what);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function id(v: unknown, field = "id"): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    fail(`${field} is not a non-negative integer`);
  }
  return v as number;
}

function text(v: unknown, field: string, max = MAX_TEXT): string {
  if (typeof v !== "string" || v.length > max) {
    fail(`${field} is not a string of at most ${max} characters`);
  }
  return v;
}

function count(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    fail(`${field} is not a finite non-negative number`);
  }
  return v;
}

function headers(v: unknown, field: string): [string, string][] {
  if (!Array.isArray(v) || v.length > MAX_ITEMS) fail(`${field} is not a list`);
  for (const pair of v) {
    if (
      !Array.isArray(pair) || pair.length !== 2 ||
      typeof pair[0] !== "string" || typeof pair[1] !== "string"
    ) fail(`${field} holds an entry that is not a [name, value] pair`);
  }
  return v as [string, string][];
}

function body(v: unknown, field: string): Uint8Array | null {
  if (v !== null && !(v instanceof Uint8Array)) {
    fail(`${field} is neither bytes nor null`);
  }
  return v;
}

function wireResponse(v: unknown): WireResponse {
  if (!isRecord(v)) fail("res is not an object");
  const status = v.status;
  if (
    !Number.isInteger(status) || (status as number) < 200 ||
    (status as number) > 599
  ) {
    fail("res.status is not an HTTP status between 200 and 599");
  }
  return {
    status: status as number,
    headers: headers(v.headers, "res.headers"),
    body: body(v.body, "res.body"),
  };
}

/** A replica listener's connection counters (all non-negative numbers). */
function connections(v: unknown): ConnectionStats | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v) || !isRecord(v.timedOut)) {
    fail("connections is not an object");
  }
  const t = v.timedOut;
  return {
    open: count(v.open, "connections.open"),
    refused: count(v.refused, "connections.refused"),
    timedOut: {
      header: count(t.header, "connections.timedOut.header"),
      idle: count(t.idle, "connections.timedOut.idle"),
      body: count(t.body, "connections.timedOut.body"),
    },
    acceptErrors: count(v.acceptErrors, "connections.acceptErrors"),
  };
}

function wireRequest(v: unknown): WireRequest {
  if (!isRecord(v)) fail("req is not an object");
  return {
    method: text(v.method, "req.method", 64),
    url: text(v.url, "req.url", 65_536),
    headers: headers(v.headers, "req.headers"),
    body: body(v.body, "req.body"),
  };
}

function stats(v: unknown): StatsSnapshot {
  if (!isRecord(v)) fail("stats is not an object");
  for (const [status, s] of Object.entries(v)) {
    if (!/^[1-5]\d\d$/.test(status)) fail(`stats has a bad status "${status}"`);
    if (!isRecord(s)) fail(`stats.${status} is not an object`);
    count(s.count, `stats.${status}.count`);
    count(s.sum, `stats.${status}.sum`);
    const b = s.buckets;
    if (!Array.isArray(b) || b.length !== LATENCY_BUCKETS.length + 1) {
      fail(`stats.${status}.buckets has the wrong length`);
    }
    b.forEach((n, i) => count(n, `stats.${status}.buckets[${i}]`));
  }
  return v as StatsSnapshot;
}

function histogram(v: unknown, field: string, buckets: number): void {
  if (!isRecord(v)) fail(`${field} is not an object`);
  count(v.count, `${field}.count`);
  count(v.sum, `${field}.sum`);
  const b = v.buckets;
  if (!Array.isArray(b) || b.length !== buckets + 1) {
    fail(`${field}.buckets has the wrong length`);
  }
  b.forEach((n, i) => count(n, `${field}.buckets[${i}]`));
}

function streams(v: unknown): StreamSnapshot | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v)) fail("streams is not an object");
  histogram(v.firstByte, "streams.firstByte", FIRST_BYTE_BUCKETS.length);
  histogram(v.duration, "streams.duration", STREAM_DURATION_BUCKETS.length);
  return { firstByte: v.firstByte, duration: v.duration } as StreamSnapshot;
}

function batches(v: unknown): BatchSnapshot | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v)) fail("batches is not an object");
  histogram(v.size, "batches.size", BATCH_SIZE_BUCKETS.length);
  histogram(v.wait, "batches.wait", BATCH_WAIT_BUCKETS.length);
  return { size: v.size, wait: v.wait } as BatchSnapshot;
}

function series(v: unknown): CustomSeries[] {
  if (!Array.isArray(v) || v.length > MAX_ITEMS) fail("custom is not a list");
  for (const s of v) {
    if (!isValidSeries(s)) fail("custom holds a series that is not valid");
  }
  return v as CustomSeries[];
}

function grpc(v: unknown): FromReplica & { type: "grpc" } {
  if (!isRecord(v)) fail("msg is not an object");
  id(v.callId, "msg.callId");
  switch (v.type) {
    case "grpc.header":
      if (!isRecord(v.metadata)) fail("msg.metadata is not an object");
      break;
    case "grpc.message":
      // The replica encodes its responses; grpc-js sends these bytes as they are.
      if (!(v.message instanceof Uint8Array)) fail("msg.message is not bytes");
      if (v.message.byteLength > GRPC_MESSAGE_BYTES) {
        fail(
          `msg.message has ${v.message.byteLength} bytes, over the gRPC message limit of ${GRPC_MESSAGE_BYTES}`,
        );
      }
      break;
    case "grpc.done":
      if (
        !Number.isInteger(v.code) || (v.code as number) < 0 ||
        (v.code as number) > 16
      ) {
        fail("msg.code is not a gRPC status code");
      }
      text(v.details, "msg.details");
      if (v.trailers !== undefined && !isRecord(v.trailers)) {
        fail("msg.trailers is not an object");
      }
      break;
    default:
      fail(`msg.type "${String(v.type)}" is not a gRPC reply`);
  }
  return { type: "grpc", msg: v as GrpcFromReplica };
}

const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;
const SPAN_ID = /^(?!0{16})[0-9a-f]{16}$/;
/** Spans in one message, links of one span, attributes of one span. */
const MAX_SPANS = 1024;
const MAX_LINKS = 1024;
const MAX_ATTRIBUTES = 64;

function hexId(v: unknown, pattern: RegExp, field: string): string {
  if (typeof v !== "string" || !pattern.test(v)) {
    fail(`${field} is not a valid lower-case hex id`);
  }
  return v;
}

function epochMs(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 1e14) {
    fail(`${field} is not a time in epoch milliseconds`);
  }
  return v;
}

/** One span, rebuilt from checked fields only (nothing else passes). */
function span(v: unknown, at: string): SpanData {
  if (!isRecord(v)) fail(`${at} is not an object`);
  const kind = v.kind;
  if (kind !== 1 && kind !== 2 && kind !== 3) {
    fail(`${at}.kind is not 1, 2 or 3`);
  }
  const start = epochMs(v.start, `${at}.start`);
  const end = epochMs(v.end, `${at}.end`);
  if (end < start) fail(`${at}.end is before its start`);
  const out: SpanData = {
    traceId: hexId(v.traceId, TRACE_ID, `${at}.traceId`),
    spanId: hexId(v.spanId, SPAN_ID, `${at}.spanId`),
    name: text(v.name, `${at}.name`, 256),
    kind: kind as SpanKindValue,
    start,
    end,
  };
  if (v.parentSpanId !== undefined) {
    out.parentSpanId = hexId(v.parentSpanId, SPAN_ID, `${at}.parentSpanId`);
  }
  if (v.error !== undefined) out.error = text(v.error, `${at}.error`, 1024);
  if (v.attributes !== undefined) {
    if (!isRecord(v.attributes)) fail(`${at}.attributes is not an object`);
    const entries = Object.entries(v.attributes);
    if (entries.length > MAX_ATTRIBUTES) {
      fail(`${at}.attributes has more than ${MAX_ATTRIBUTES} entries`);
    }
    const attributes: Record<string, string | number | boolean> = {};
    for (const [key, value] of entries) {
      text(key, `${at}.attributes key`, 128);
      if (key === "__proto__") fail(`${at}.attributes has a __proto__ key`);
      if (typeof value === "string") {
        attributes[key] = text(value, `${at}.attributes.${key}`, 4096);
      } else if (
        typeof value === "boolean" ||
        (typeof value === "number" && Number.isFinite(value))
      ) attributes[key] = value;
      else fail(`${at}.attributes.${key} is not a string, number or boolean`);
    }
    out.attributes = attributes;
  }
  if (v.links !== undefined) {
    if (!Array.isArray(v.links) || v.links.length > MAX_LINKS) {
      fail(`${at}.links is not a list of at most ${MAX_LINKS}`);
    }
    out.links = v.links.map((l, i) => {
      if (!isRecord(l)) fail(`${at}.links[${i}] is not an object`);
      return {
        traceId: hexId(l.traceId, TRACE_ID, `${at}.links[${i}].traceId`),
        spanId: hexId(l.spanId, SPAN_ID, `${at}.links[${i}].spanId`),
      };
    });
  }
  return out;
}

function spans(v: unknown): SpanData[] {
  if (!Array.isArray(v) || v.length > MAX_SPANS) {
    fail(`spans is not a list of at most ${MAX_SPANS}`);
  }
  return v.map((s, i) => span(s, `spans[${i}]`));
}

/**
 * The message, checked, as the server may use it.
 *
 * @throws {BadReplicaMessage} naming what was wrong
 */
export function checkFromReplica(msg: unknown): FromReplica {
  if (!isRecord(msg)) fail("message is not an object");
  switch (msg.type) {
    case "ready": {
      const methods = msg.methods;
      if (!Array.isArray(methods) || methods.length > MAX_ITEMS) {
        fail("methods is not a list");
      }
      methods.forEach((m) => text(m, "methods[]", 1024));
      if (typeof msg.listening !== "boolean") {
        fail("listening is not a boolean");
      }
      return { type: "ready", methods, listening: msg.listening };
    }
    case "failed":
      return {
        type: "failed",
        message: text(msg.message, "message"),
        stack: text(msg.stack, "stack"),
      };
    case "log":
      return { type: "log", chunk: text(msg.chunk, "chunk", LOG_FRAME_CHARS) };
    case "http.response": {
      if (msg.streaming !== undefined && msg.streaming !== true) {
        fail("streaming is not true");
      }
      const at = id(msg.id);
      const res = wireResponse(msg.res);
      // A larger body is streamed (src/wire/channel_limits.ts).
      if (res.body !== null && res.body.byteLength > INLINE_BODY_BYTES) {
        fail(
          `res.body has ${res.body.byteLength} bytes, over the ${INLINE_BODY_BYTES} sent inline (a larger body is streamed)`,
        );
      }
      if (msg.streaming && res.body !== null) {
        fail("res.body is not null in a streamed answer");
      }
      return {
        type: "http.response",
        id: at,
        res,
        ...(msg.streaming ? { streaming: true as const } : {}),
      };
    }
    case "http.chunk":
      if (!(msg.chunk instanceof Uint8Array)) fail("chunk is not bytes");
      if (msg.chunk.byteLength > CHUNK_BYTES) {
        fail(
          `chunk has ${msg.chunk.byteLength} bytes, over the chunk size of ${CHUNK_BYTES}`,
        );
      }
      return { type: "http.chunk", id: id(msg.id), chunk: msg.chunk };
    case "http.end":
      if (msg.error !== undefined && msg.error !== true) {
        fail("error is not true");
      }
      return msg.error
        ? { type: "http.end", id: id(msg.id), error: true }
        : { type: "http.end", id: id(msg.id) };
    case "forward.request":
      if (msg.api !== null) text(msg.api, "api", 1024);
      if (msg.handoff !== undefined && typeof msg.handoff !== "boolean") {
        fail("handoff is not a boolean");
      }
      return {
        type: "forward.request",
        id: id(msg.id),
        api: msg.api as string | null,
        req: wireRequest(msg.req),
        handoff: msg.handoff === true,
        // A client address (IPv6 at most 45 characters); a lying replica
        // only moves its own API's requests between rate-limit buckets.
        ...(msg.client === undefined
          ? {}
          : { client: text(msg.client, "client", 64) }),
      };
    case "edge.take": {
      // "api", "key:<label>" or "client:<address>": bounded, since each
      // distinct bucket is held by the serving process.
      const bucket = text(msg.bucket, "bucket", 256);
      if (!/^(api|key:.+|client:.*)$/.test(bucket)) {
        fail(`bucket "${bucket.slice(0, 40)}" is not a rate-limit bucket`);
      }
      return { type: "edge.take", id: id(msg.id), bucket };
    }
    case "forward.cancel":
      return { type: "forward.cancel", id: id(msg.id) };
    case "forward.credit": {
      const n = msg.n;
      if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 1024) {
        fail("n is not an integer from 1 to 1024");
      }
      return { type: "forward.credit", id: id(msg.id), n: n as number };
    }
    case "stats":
      return {
        type: "stats",
        id: id(msg.id),
        stats: stats(msg.stats),
        custom: series(msg.custom),
        connections: connections(msg.connections),
        batches: batches(msg.batches),
        streams: streams(msg.streams),
      };
    case "drained":
      return { type: "drained" };
    case "load":
      return {
        type: "load",
        load: count(msg.load, "load"),
        queued: count(msg.queued, "queued"),
        rss: count(msg.rss, "rss"),
        handedOff: count(msg.handedOff, "handedOff"),
        reconnects: count(msg.reconnects, "reconnects"),
      };
    case "grpc":
      return grpc(msg.msg);
    case "control.request": {
      const method = text(msg.method, "method", 16);
      if (!["GET", "POST", "PATCH", "DELETE"].includes(method)) {
        fail(`method "${method}" is not a control API method`);
      }
      // The control API takes no larger body (control/_http.ts); the
      // replica answers a larger one itself (replica/control_client.ts).
      if (msg.body !== null) text(msg.body, "body", MAX_BODY_BYTES);
      return {
        type: "control.request",
        id: id(msg.id),
        method,
        path: text(msg.path, "path", 4096),
        body: msg.body as string | null,
      };
    }
    case "control.cancel":
      return { type: "control.cancel", id: id(msg.id) };
    case "trace.spans":
      return { type: "trace.spans", spans: spans(msg.spans) };
    case "ws.send": {
      const data = msg.data;
      if (typeof data === "string") {
        if (data.length > MAX_MESSAGE) fail("data is over 64 MiB");
      } else if (data instanceof Uint8Array) {
        if (data.byteLength > MAX_MESSAGE) fail("data is over 64 MiB");
      } else fail("data is neither text nor bytes");
      return { type: "ws.send", id: id(msg.id), data };
    }
    case "ws.close": {
      const code = msg.code;
      if (
        code !== undefined &&
        (!Number.isInteger(code) || (code as number) < 1000 ||
          (code as number) > 4999)
      ) fail("code is not a WebSocket close code (1000 to 4999)");
      const reason = msg.reason === undefined
        ? undefined
        : text(msg.reason, "reason", 123);
      return {
        type: "ws.close",
        id: id(msg.id),
        ...(code === undefined ? {} : { code: code as number }),
        ...(reason === undefined ? {} : { reason }),
      };
    }
    default:
      fail(`type "${String(msg.type)}" is not a replica message`);
  }
}
