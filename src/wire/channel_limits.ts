/**
 * How large a message may be on the replica socket (and the gRPC bridge),
 * so that nothing a replica sends makes the serving process hold more than
 * these bounds (SECURITY.md, "Bounded messages from replicas"):
 *
 * - a response body travels inside its message (`http.response`,
 *   `forward.response`) only up to {@linkcode INLINE_BODY_BYTES}; a larger
 *   one is streamed, in chunks of at most {@linkcode CHUNK_BYTES} with
 *   credit-based flow control (stream_forward.ts), as a streamed result is;
 * - a request body (`http.request`, `forward.request`) is bounded by the
 *   `handler.max_body_size` of the API it is for;
 * - a WebSocket message by Deno's 64 MiB frame limit, a batch of log lines
 *   by {@linkcode LOG_FRAME_CHARS};
 * - so every frame by {@linkcode replicaFrameLimit}: the decoder refuses a
 *   larger one at its length word, before buffering any of it.
 *
 * @module
 */

import type { FromReplica, ToReplica } from "./replica_messages.ts";

const MIB = 1 << 20;

/** Largest response body sent inside its message; larger ones are streamed. */
export const INLINE_BODY_BYTES = MIB;

/** Largest chunk of a streamed body (a larger piece is split). */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Largest batch of log lines in one text frame, in characters (at most 3
 * bytes each in UTF-8); a longer batch is split, a longer line cut.
 */
export const LOG_FRAME_CHARS = 16 * MIB;

/**
 * Room for a message's other fields: method, URL, headers, ids (a routed
 * request's URL is at most 64 KiB; headers are what HTTP parsers take, far
 * less than this).
 */
export const MESSAGE_HEAD_BYTES = MIB;

/**
 * The largest payload that does not depend on the configuration: a
 * WebSocket message (Deno's frame limit), a log batch in UTF-8
 * (3 x LOG_FRAME_CHARS), a gRPC message (grpc-js's 32 MiB).
 */
const FIXED_PAYLOAD_BYTES = 64 * MIB;

/** The smallest {@linkcode replicaFrameLimit}: frames up to it are never refused. */
export const MIN_FRAME_BYTES = FIXED_PAYLOAD_BYTES + MESSAGE_HEAD_BYTES;

/**
 * The largest frame the serving process takes from a replica (or from the
 * gRPC process), given the largest `handler.max_body_size` of the server's
 * APIs (a hand-off or chained call carries a request body up to it).
 */
export function replicaFrameLimit(largestBodyBytes: number): number {
  return forwardBodyLimit(largestBodyBytes) + MESSAGE_HEAD_BYTES;
}

/**
 * The largest request body a replica of an API with `handler.max_body_size`
 * `ownBodyBytes` sends in a chained call or hand-off (its own requests are
 * bounded by its limit; a chained call by the callee's, checked by the
 * serving process): what fits the frame limit whatever the other APIs'.
 */
export function forwardBodyLimit(ownBodyBytes: number): number {
  return Math.max(FIXED_PAYLOAD_BYTES, ownBodyBytes);
}

/**
 * The request bodies one replica's chained calls and hand-offs may have in
 * flight in the serving process at once, in bytes: at least one body of
 * the largest size an API takes; a call beyond it is answered 503.
 */
export function forwardBodyBudget(largestBodyBytes: number): number {
  return Math.max(64 * MIB, largestBodyBytes);
}

/**
 * A batch of log lines (each ending in "\n") as text frames of at most
 * `max` characters: cut at line ends, and a line longer than `max` cut into
 * lines of its own (never inside a surrogate pair).
 */
export function splitLogBatch(
  batch: string,
  max: number = LOG_FRAME_CHARS,
): string[] {
  if (batch.length <= max) return [batch];
  const out: string[] = [];
  let at = 0;
  while (batch.length - at > max) {
    const lineEnd = batch.lastIndexOf("\n", at + max - 1);
    if (lineEnd >= at) {
      out.push(batch.slice(at, lineEnd + 1));
      at = lineEnd + 1;
      continue;
    }
    let cut = at + max - 1; // room for the "\n" that ends the piece
    const code = batch.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--;
    out.push(batch.slice(at, cut) + "\n");
    at = cut;
  }
  if (at < batch.length) out.push(batch.slice(at));
  return out;
}

/**
 * A message carrying more bytes than this (a WebSocket message, a request
 * body, a chunk) is written in a frame of its own rather than batched with
 * the messages of the same event-loop turn: many of them batched would make
 * one frame of their sum.
 */
export const ALONE_BYTES = 64 * 1024;

/** The bytes a message between the processes carries (0 for none). */
export function carriedBytes(msg: FromReplica | ToReplica): number {
  switch (msg.type) {
    case "ws.send":
    case "ws.message":
      return typeof msg.data === "string"
        ? msg.data.length
        : msg.data.byteLength;
    case "http.chunk":
    case "forward.chunk":
      return msg.chunk.byteLength;
    case "http.request":
    case "forward.request":
      return msg.req.body?.byteLength ?? 0;
    default:
      return 0;
  }
}
