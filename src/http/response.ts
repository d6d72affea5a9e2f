/**
 * Handler return value → Response (README "Requests and responses"). The dispatch is
 * a table of encoders tried in order.
 *
 * @module
 */

import { utf8ByteLength } from "./byte_length.ts";
import {
  iterateStream,
  SSE_TYPE,
  StreamBody,
  type StreamBodyOptions,
} from "./stream_body.ts";

/** A function of no arguments that runs after the response has been sent. */
export type Callback = () => unknown;

/** The response and the callback of a `[result, callback]` return. */
export interface EncodedResult {
  response: Response;
  callback: Callback | null;
  /** Body size when known up front (for the access log), else null. */
  bytesOut: number | null;
  /** The body, when the result was a stream or an async iterable. */
  stream?: StreamBody;
}

/** A body the pipeline wraps with its headers, or a finished Response. */
type Encoded = Response | { body: string | Uint8Array; contentType: string };

const JSON_TYPE = "application/json";
const TEXT_TYPE = "text/plain; charset=utf-8";
const BYTES_TYPE = "application/octet-stream";

/** True for a value with `Symbol.asyncIterator` (a stream's source). */
export function isAsyncIterable(
  value: unknown,
): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] ===
      "function";
}

function streamFromIterable(iterable: AsyncIterable<unknown>): ReadableStream {
  return new StreamBody(iterable).stream;
}

/** Value encoders in order; the first whose test matches builds the response. */
export const RESULT_ENCODERS: ReadonlyArray<
  {
    name: string;
    test: (v: unknown) => boolean;
    encode: (v: unknown) => Encoded;
  }
> = [
  {
    name: "response",
    test: (v) => v instanceof Response,
    encode: (v) => v as Response,
  },
  {
    name: "string",
    test: (v) => typeof v === "string",
    encode: (v) => ({ body: v as string, contentType: TEXT_TYPE }),
  },
  {
    name: "bytes",
    test: (v) => v instanceof Uint8Array || v instanceof ArrayBuffer,
    encode: (v) => ({
      body: v instanceof ArrayBuffer ? new Uint8Array(v) : v as Uint8Array,
      contentType: BYTES_TYPE,
    }),
  },
  {
    name: "stream",
    test: (v) => v instanceof ReadableStream,
    encode: (v) =>
      new Response(v as ReadableStream, {
        headers: { "content-type": BYTES_TYPE },
      }),
  },
  {
    name: "async-iterable",
    test: isAsyncIterable,
    encode: (v) =>
      new Response(streamFromIterable(v as AsyncIterable<unknown>), {
        headers: { "content-type": BYTES_TYPE },
      }),
  },
  {
    name: "json",
    test: () => true,
    encode: (v) => {
      // undefined (a handler with no return) is sent as JSON null.
      const body = JSON.stringify(v === undefined ? null : v);
      if (body === undefined) {
        throw new TypeError(
          `Cannot encode handler result of type "${typeof v}" as JSON`,
        );
      }
      return { body, contentType: JSON_TYPE };
    },
  },
];

/**
 * Encodes a handler's return value. A two-element array whose second element
 * is a function is `[result, callback]`.
 */
export function encodeResult(
  value: unknown,
  requestId: string,
  streaming?: StreamBodyOptions,
): EncodedResult {
  let callback: Callback | null = null;
  if (Array.isArray(value)) {
    if (value.length === 2 && typeof value[1] === "function") {
      callback = value[1] as Callback;
      value = value[0];
    } else {
      return jsonResult(value, requestId);
    }
  } else if (
    value !== null && typeof value === "object" &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    // The common case (a plain object) skips the dispatch table.
    return jsonResult(value, requestId);
  }
  if (streaming && isAsyncIterable(value)) {
    return { ...streamResult(value, streaming), callback };
  }
  const rule = RESULT_ENCODERS.find((e) => e.test(value))!;
  const encoded = rule.encode(value);
  if (encoded instanceof Response) {
    return { response: encoded, callback, bytesOut: null };
  }
  return {
    response: bodyResponse(encoded.body, encoded.contentType, 200, requestId),
    callback,
    bytesOut: typeof encoded.body === "string"
      ? utf8ByteLength(encoded.body)
      : encoded.body.byteLength,
  };
}

/**
 * A stream or async iterable as a tracked, pull-based body: server-sent
 * events when asked (never for a ReadableStream, whose bytes go as they are).
 */
function streamResult(
  value: AsyncIterable<unknown>,
  opts: StreamBodyOptions,
): Omit<EncodedResult, "callback"> {
  const isStream = value instanceof ReadableStream;
  const sse = opts.sse === true && !isStream;
  const stream = new StreamBody(isStream ? iterateStream(value) : value, {
    ...opts,
    sse,
  });
  const response = new Response(stream.stream, {
    headers: { "content-type": sse ? SSE_TYPE : BYTES_TYPE },
  });
  if (sse) {
    response.headers.set("cache-control", "no-cache");
    response.headers.set("x-accel-buffering", "no");
  }
  streamedResponses.add(response);
  return { response, bytesOut: null, stream };
}

/** Responses whose body is a stream the handler made (sent in chunks). */
const streamedResponses = new WeakSet<Response>();

/** Marks a response whose body arrives as a stream (passed on in chunks). */
export function markStreamed(res: Response): Response {
  streamedResponses.add(res);
  return res;
}

/**
 * True for a response made from a handler's stream or async iterable, a
 * streamed answer to a chained call, or any `text/event-stream`.
 */
export function isStreamedResponse(res: Response): boolean {
  return res.body !== null && (streamedResponses.has(res) ||
    (res.headers.get("content-type")?.startsWith("text/event-stream") ??
      false));
}

function jsonResult(value: unknown, requestId: string): EncodedResult {
  const body = JSON.stringify(value);
  return {
    response: bodyResponse(body, JSON_TYPE, 200, requestId),
    callback: null,
    bytesOut: utf8ByteLength(body),
  };
}

/**
 * A response for a body we made. Measured on Deno 2.9: a single header in
 * the init then `headers.set` for the rest is ~6x cheaper than passing two
 * headers in the init. Content-Length is added by the server.
 */
function bodyResponse(
  body: string | Uint8Array,
  contentType: string,
  status: number,
  requestId: string | null,
  extra: Record<string, string> = {},
): Response {
  // A content-type-only init takes Deno's fast Response path (~0.1 µs);
  // x-request-id set afterwards costs ~0.23 µs, while any other header in
  // the init (as a record or as pairs) costs ~2 µs (response_bench.ts).
  const res = new Response(body as string | Uint8Array<ArrayBuffer>, {
    status,
    headers: { "content-type": contentType },
  });
  if (requestId !== null) res.headers.set("x-request-id", requestId);
  for (const key in extra) res.headers.set(key, extra[key]!);
  return res;
}

/** A JSON error response `{"error": message, ...extra}`. */
export function errorResponse(
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const body = JSON.stringify({ error: message, ...extra });
  return bodyResponse(body, JSON_TYPE, status, null, {
    "content-length": String(utf8ByteLength(body)),
    ...headers,
  });
}

/**
 * 503 for an API whose admission is full (every slot busy and its queue at
 * its limit), with `retry-after: 1`; the same wherever a request is refused.
 */
export function atLimitResponse(api: string): Response {
  return errorResponse(
    503,
    `API "${api}" is at its concurrency and queue limit`,
    {},
    { "retry-after": "1" },
  );
}
