/**
 * Length-prefixed frames for the socket between the serving process and the
 * gRPC process: a 4-byte big-endian length, then a `node:v8` serialization
 * (the structured clone format, so bigints, Uint8Arrays and plain
 * `@bufbuild/protobuf` message objects cross unchanged, as with postMessage).
 *
 * One frame carries a batch of messages: `node:v8` costs ~20 µs per call in
 * Deno whatever the size, so {@linkcode FrameWriter} sends everything queued
 * within one event-loop turn (and during a write) as one frame; a large
 * message (`sendAlone`) takes a frame of its own. A decoder may refuse a
 * frame over a limit ({@linkcode FrameTooLarge}) at its length word.
 *
 * The top two bits of the length word give the frame's kind (so a frame's
 * body is at most 2^30 - 1 bytes): 00 a `node:v8` batch, 10 a text frame,
 * 01 a call frame.
 *
 * A text frame carries one string as UTF-8 instead: a replica's batch of log
 * lines, which `node:v8` (Deno's JavaScript serializer) copies at about 0.4
 * µs a line where `TextEncoder` takes 0.1. Only a decoder created with
 * `{ text: true }` accepts text frames.
 *
 * A call frame carries one message of a gRPC call (`protocol.ts`) as JSON,
 * with its protobuf bytes (`message`, when a Uint8Array) appended raw:
 * encoding and decoding cost about 1 µs where a `node:v8` frame costs 20-40
 * (a fixed cost per frame in Deno 2.9 that per-turn batching amortizes only
 * under heavy load). Only a decoder created with `{ calls }` accepts them.
 * They are used on the replica socket and on the gRPC bridge (calls'
 * messages; hello, health and listening stay `node:v8` batches).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { deserialize, serialize } from "node:v8";

/**
 * Largest frame body (a batch may hold several 32 MiB messages): what the 30
 * bits of the length word can say.
 */
export const MAX_FRAME_BYTES = (1 << 30) - 1;

/** A frame at least this large is read into a buffer of its own size. */
const LARGE_FRAME_BYTES = 1 << 20;

/** The kind bits of a frame's length word: the frame is one UTF-8 string. */
const TEXT_FRAME = 0x8000_0000;
/** The kind bits of a frame's length word: the frame is one call message. */
const CALL_FRAME = 0x4000_0000;
const LENGTH_BITS = 0x3fff_ffff;
/** In a call frame's JSON length word: the protobuf bytes follow the JSON. */
const HAS_BYTES = 0x8000_0000;

/**
 * A message of a gRPC call as a call frame carries it: JSON values, and the
 * protobuf bytes in `message` when there are any.
 */
export interface CallMessage {
  type: string;
  callId: number;
  message?: unknown;
  [field: string]: unknown;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Encodes a string as one text frame. */
export function encodeTextFrame(text: string): Uint8Array {
  // Log lines are mostly ASCII: one byte a character, encoded in place.
  let frame = new Uint8Array(4 + text.length);
  let { read, written } = utf8Encoder.encodeInto(text, frame.subarray(4));
  if (read !== text.length) {
    const body = utf8Encoder.encode(text);
    frame = new Uint8Array(4 + body.length);
    frame.set(body, 4);
    written = body.length;
  }
  if (written > MAX_FRAME_BYTES) {
    throw new RangeError(
      `Frame of ${written} bytes exceeds ${MAX_FRAME_BYTES} bytes`,
    );
  }
  new DataView(frame.buffer).setUint32(0, TEXT_FRAME + written);
  return frame;
}

/**
 * Encodes one call message as a call frame, or returns null when it does not
 * fit one (its `message` is not bytes: send it in a `node:v8` frame). The
 * other fields must be JSON values (strings, finite numbers, null, arrays
 * and plain objects of them), as the call protocol's are.
 */
export function encodeCallFrame(msg: CallMessage): Uint8Array | null {
  const bytes = msg.message;
  if (bytes !== undefined && !(bytes instanceof Uint8Array)) return null;
  let json: string;
  if (bytes === undefined) json = JSON.stringify(msg);
  else {
    const { message: _, ...rest } = msg;
    json = JSON.stringify(rest);
  }
  const extra = bytes?.length ?? 0;
  // Mostly ASCII: one byte a character, encoded in place.
  let frame = new Uint8Array(8 + json.length + extra);
  let { read, written } = utf8Encoder.encodeInto(json, frame.subarray(8));
  if (read !== json.length) {
    const body = utf8Encoder.encode(json);
    frame = new Uint8Array(8 + body.length + extra);
    frame.set(body, 8);
    written = body.length;
  }
  const length = 4 + written + extra;
  if (length > MAX_FRAME_BYTES) {
    throw new RangeError(
      `Frame of ${length} bytes exceeds ${MAX_FRAME_BYTES} bytes`,
    );
  }
  if (bytes !== undefined) frame.set(bytes, 8 + written);
  const view = new DataView(frame.buffer);
  view.setUint32(0, CALL_FRAME + length);
  view.setUint32(4, (bytes === undefined ? 0 : HAS_BYTES) + written);
  return frame.length === 8 + written + extra
    ? frame
    : frame.subarray(0, 8 + written + extra);
}

/** Decodes a call frame's body (after the length word). */
function decodeCallFrame(body: Uint8Array): CallMessage {
  if (body.length < 4) throw new TypeError("Call frame without its JSON");
  const word = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
  const jsonLength = word & 0x7fff_ffff;
  if (4 + jsonLength > body.length) {
    throw new TypeError("Call frame's JSON overruns the frame");
  }
  const msg = JSON.parse(utf8Decoder.decode(body.subarray(4, 4 + jsonLength)));
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
    throw new TypeError("Call frame is not a message object");
  }
  if (word & HAS_BYTES) msg.message = body.slice(4 + jsonLength);
  else if (4 + jsonLength !== body.length) {
    throw new TypeError("Call frame has bytes it does not announce");
  }
  return msg;
}

/** Encodes a batch of messages as one frame. */
export function encodeFrame(messages: readonly unknown[]): Uint8Array {
  const body = serialize(messages);
  if (body.length > MAX_FRAME_BYTES) {
    throw new RangeError(
      `Frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES} bytes`,
    );
  }
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/** Options of {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Accept text frames (each decodes to a string). */
  text?: boolean;
  /** Accept call frames: each decoded message is passed through this. */
  calls?: (msg: CallMessage) => unknown;
  /**
   * Refuse a frame whose body is larger ({@linkcode FrameTooLarge}) as soon
   * as its length word arrives, before any of it is buffered. A function,
   * read only for frames above `minFrameBytes`, so the limit can follow the
   * configuration (it depends on the APIs' body limits).
   */
  maxFrameBytes?: () => number;
  /**
   * The smallest `maxFrameBytes` can be: frames up to this size are never
   * checked against it (no call on the hot path). Default 0.
   */
  minFrameBytes?: number;
}

/** The kinds of frame, as {@linkcode FrameTooLarge} names them. */
export type FrameKind = "node:v8 batch" | "text" | "call";

/**
 * A frame announced a body larger than its channel takes. Thrown by
 * {@linkcode FrameDecoder.push} at the length word, so nothing of the frame
 * was buffered; the channel cannot be read further (the rest of the stream
 * is that frame's body).
 */
export class FrameTooLarge extends RangeError {
  override name = "FrameTooLarge";

  constructor(
    /** The body size the length word announced. */
    readonly bytes: number,
    /** The channel's limit. */
    readonly limit: number,
    readonly kind: FrameKind,
    /**
     * The type of its (first) message when the bytes at hand say it: "log"
     * for a text frame, "grpc" for a call frame, the `type` field read from
     * the start of a `node:v8` batch; else undefined.
     */
    readonly messageType: string | undefined,
  ) {
    super(
      `sent a frame of ${bytes} bytes (${
        messageType === undefined
          ? `a ${kind} frame`
          : `a "${messageType}" message`
      }), over the limit of ${limit} bytes`,
    );
  }
}

/**
 * The `type` of the first message of a `node:v8` batch, read from its first
 * bytes: the serializer writes an object's keys and one-byte strings as
 * `"` (0x22), a length byte, then the characters. Best effort: undefined
 * when the bytes at hand do not show it.
 */
export function peekMessageType(head: Uint8Array): string | undefined {
  const text = String.fromCharCode(...head.subarray(0, 256));
  const key = text.indexOf(TYPE_KEY);
  if (key === -1) return undefined;
  const start = key + TYPE_KEY.length + 1;
  const value = text.slice(start, start + text.charCodeAt(start - 1));
  return /^[a-z][a-z.]{0,63}$/.test(value) ? value : undefined;
}

/** The key `type` as `node:v8` writes it, then the tag of a one-byte string. */
const TYPE_KEY = '"' + String.fromCharCode(4) + 'type"';

/** Splits a byte stream into frames and decodes their messages. */
export class FrameDecoder {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  readonly #text: boolean;
  readonly #calls: ((msg: CallMessage) => unknown) | null;
  readonly #maxFrameBytes: (() => number) | null;
  readonly #minFrameBytes: number;
  /** A large frame being read into its own buffer, and how much has come. */
  #large: Uint8Array | null = null;
  #largeAt = 0;

  /**
   * @param opts `text`: accept text frames (each decodes to a string);
   *   `calls`: accept call frames, each decoded message passed through it
   *   (e.g. to wrap it as the channel's messages are wrapped). Without them
   *   such a frame throws, as a malformed frame does. `maxFrameBytes`:
   *   the largest frame body taken (`minFrameBytes`: never less).
   */
  constructor(opts: FrameDecoderOptions = {}) {
    this.#text = opts.text ?? false;
    this.#calls = opts.calls ?? null;
    this.#maxFrameBytes = opts.maxFrameBytes ?? null;
    this.#minFrameBytes = opts.minFrameBytes ?? 0;
  }

  /**
   * Adds bytes read from the stream. `borrowed`: `chunk` is the caller's
   * read buffer, reused after this call, so what is kept is copied (the
   * rest of a large frame straight into its buffer, with no copy between).
   *
   * @returns the messages of every frame completed by `chunk`, in order
   * @throws {TypeError} on a text or call frame when the decoder takes none,
   *   and on a malformed frame
   * @throws {FrameTooLarge} when a frame announces more than `maxFrameBytes`
   */
  push(chunk: Uint8Array, borrowed = false): unknown[] {
    const out: unknown[] = [];
    if (this.#large === null && borrowed) chunk = chunk.slice();
    else if (this.#large !== null) {
      // The rest of a large frame goes straight into its own buffer.
      const large = this.#large;
      const take = Math.min(chunk.length, large.length - this.#largeAt);
      large.set(chunk.subarray(0, take), this.#largeAt);
      this.#largeAt += take;
      if (this.#largeAt < large.length) return out;
      this.#large = null;
      this.#largeAt = 0;
      this.#decode(large, out);
      chunk = borrowed ? chunk.slice(take) : chunk.subarray(take);
      if (chunk.length === 0) return out;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= 4) {
      const head = this.#peek(4);
      const word = new DataView(head.buffer, head.byteOffset, 4)
        .getUint32(0);
      const kind = (word & ~LENGTH_BITS) >>> 0;
      const length = word & LENGTH_BITS;
      if (kind === TEXT_FRAME && !this.#text) {
        throw new TypeError("Text frame on a channel that takes none");
      }
      if (kind === CALL_FRAME && this.#calls === null) {
        throw new TypeError("Call frame on a channel that takes none");
      }
      if (kind === (TEXT_FRAME | CALL_FRAME) >>> 0) {
        throw new TypeError("Frame of an unknown kind");
      }
      if (length > this.#minFrameBytes && this.#maxFrameBytes !== null) {
        const limit = this.#maxFrameBytes();
        if (length > limit) throw this.#tooLarge(length, limit, kind);
      }
      if (this.#buffered < 4 + length) {
        if (length >= LARGE_FRAME_BYTES) this.#startLarge(4 + length);
        break;
      }
      this.#decode(this.#take(4 + length), out);
    }
    return out;
  }

  /**
   * Moves what is buffered of a large frame into a buffer of the frame's
   * size, which the rest is read into: one copy of its bytes, where joining
   * the chunks at the end would make two.
   */
  #startLarge(size: number): void {
    const large = new Uint8Array(size);
    let at = 0;
    for (const c of this.#chunks) {
      large.set(c, at);
      at += c.length;
    }
    this.#chunks = [];
    this.#buffered = 0;
    this.#large = large;
    this.#largeAt = at;
  }

  /** Decodes one whole frame (its length word included) into `out`. */
  #decode(frame: Uint8Array, out: unknown[]): void {
    const word = new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0);
    const kind = (word & ~LENGTH_BITS) >>> 0;
    if (kind === TEXT_FRAME) {
      out.push(utf8Decoder.decode(frame.subarray(4)));
      return;
    }
    if (kind === CALL_FRAME) {
      out.push(this.#calls!(decodeCallFrame(frame.subarray(4))));
      return;
    }
    const batch = deserialize(frame.subarray(4)) as unknown;
    if (!Array.isArray(batch)) throw new TypeError("Frame is not a batch");
    out.push(...batch);
  }

  #tooLarge(length: number, limit: number, kind: number): FrameTooLarge {
    if (kind === TEXT_FRAME) {
      return new FrameTooLarge(length, limit, "text", "log");
    }
    if (kind === CALL_FRAME) {
      return new FrameTooLarge(length, limit, "call", "grpc");
    }
    const first = this.#chunks[0]!;
    const head = first.subarray(4, Math.min(first.length, 4 + 256));
    return new FrameTooLarge(
      length,
      limit,
      "node:v8 batch",
      peekMessageType(head),
    );
  }

  /** Bytes waiting for the rest of their frame. */
  get buffered(): number {
    return this.#buffered + this.#largeAt;
  }

  /** The first `n` buffered bytes, joining chunks only when needed. */
  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const joined = concat(this.#chunks, this.#buffered);
    this.#chunks = [joined];
    return joined.subarray(0, n);
  }

  /** Removes and returns the first `n` buffered bytes. */
  #take(n: number): Uint8Array {
    const head = this.#peek(n);
    const first = this.#chunks[0]!;
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#buffered -= n;
    return head;
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A string queued by {@linkcode FrameWriter.sendText}. */
class QueuedText {
  constructor(readonly text: string) {}
}

/** A message queued by {@linkcode FrameWriter.sendAlone}. */
class QueuedAlone {
  constructor(readonly message: unknown) {}
}

/** Messages that take a frame of their own. */
function isOwnFrame(m: unknown): boolean {
  return m instanceof QueuedText || m instanceof QueuedCall ||
    m instanceof QueuedAlone;
}

/** Frames of one batch are joined into writes of about this size. */
const JOINED_WRITE_BYTES = 1 << 20;

/** A call message queued by {@linkcode FrameWriter.sendCall}. */
class QueuedCall {
  constructor(readonly msg: CallMessage, readonly whole: unknown) {}
}

/** Where a {@linkcode FrameWriter} writes (a `Deno.Conn`). */
export interface FrameSink {
  write(p: Uint8Array): Promise<number>;
}

/** Hooks of a {@linkcode FrameWriter}. */
export interface FrameWriterHooks {
  /** A write failed: the writer drops everything from now on. */
  onError?(error: unknown): void;
  /** A message could not be serialized and was dropped alone. */
  onDropped?(message: unknown, error: unknown): void;
}

/** Options of a {@linkcode FrameWriter}. */
export interface FrameWriterOptions {
  /**
   * The largest frame body to write (what the peer's decoder takes): a
   * batch over it is written as one frame per message, and a message that
   * alone is over it is dropped (`onDropped`). Default MAX_FRAME_BYTES.
   */
  maxFrameBytes?: number;
}

/**
 * Queues messages and writes them in order, one frame per event-loop turn
 * (and one per write while a write is in progress). `send` never throws.
 */
export class FrameWriter {
  #sink: FrameSink;
  #queue: unknown[] = [];
  #scheduled = false;
  #writing = false;
  #failed = false;
  #hooks: FrameWriterHooks;
  /** See {@linkcode FrameWriterOptions.maxFrameBytes} (may change later). */
  maxFrameBytes: number;

  constructor(
    sink: FrameSink,
    hooks: FrameWriterHooks = {},
    opts: FrameWriterOptions = {},
  ) {
    this.#sink = sink;
    this.#hooks = hooks;
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  /** Queues one message. */
  send(message: unknown): void {
    if (this.#failed) return;
    this.#queue.push(message);
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      // Not setTimeout(0), which waits ~2 ms in Deno 2.9.
      setImmediate(() => void this.#flush());
    }
  }

  /**
   * Queues one string, sent as a text frame in order with the messages
   * (for a decoder created with `{ text: true }`).
   */
  sendText(text: string): void {
    this.send(new QueuedText(text));
  }

  /**
   * Queues one call message, sent as a call frame in order with the rest
   * (for a decoder created with `{ calls }`). When it does not fit one (its
   * `message` is not bytes), `whole` goes in a `node:v8` frame instead: the
   * form the decoder's `calls` would have turned `msg` into.
   */
  sendCall(msg: CallMessage, whole: unknown = msg): void {
    this.send(new QueuedCall(msg, whole));
  }

  /**
   * Queues one message in a `node:v8` frame of its own, in order with the
   * rest: for a large one (a WebSocket message, a request body), which
   * batched with others would make a frame of their sum (and be serialized
   * twice when that sum is over the frame limit).
   */
  sendAlone(message: unknown): void {
    this.send(new QueuedAlone(message));
  }

  /** True after a write failed (the peer is gone). */
  get failed(): boolean {
    return this.#failed;
  }

  /** Resolves when everything queued so far is written (or dropped). */
  async flushed(): Promise<void> {
    while ((this.#queue.length > 0 || this.#writing) && !this.#failed) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#failed) {
        const batch = this.#queue;
        this.#queue = [];
        if (!batch.some(isOwnFrame)) {
          await this.#write(this.#encodeMessages(batch));
          continue;
        }
        // Frames are encoded as they are written: small ones joined into
        // one write, a large one (a message sent alone) written as soon as
        // it is encoded, so a batch of large messages is never held whole.
        let pending: Uint8Array[] = [];
        let size = 0;
        for (const frame of this.#frames(batch)) {
          pending.push(frame);
          size += frame.length;
          if (size < JOINED_WRITE_BYTES) continue;
          await this.#write(
            pending.length === 1 ? frame : concat(pending, size),
          );
          pending = [];
          size = 0;
          if (this.#failed) return;
        }
        if (size > 0) {
          await this.#write(
            pending.length === 1 ? pending[0]! : concat(pending, size),
          );
        }
      }
    } catch (error) {
      this.#failed = true;
      this.#queue = [];
      this.#hooks.onError?.(error);
    } finally {
      this.#writing = false;
    }
  }

  async #write(frame: Uint8Array): Promise<void> {
    let at = 0;
    while (at < frame.length) at += await this.#sink.write(frame.subarray(at));
  }

  /** The batch's frames: runs of messages, each text, call and alone on its own. */
  *#frames(batch: unknown[]): Generator<Uint8Array> {
    let run: unknown[] = [];
    for (const message of batch) {
      const own = message instanceof QueuedText
        ? this.#fitting(message, encodeTextFrame(message.text))
        : message instanceof QueuedCall
        ? this.#encodeCall(message)
        : message instanceof QueuedAlone
        ? this.#encodeMessages([message.message])
        : undefined;
      if (own === undefined) {
        run.push(message instanceof QueuedCall ? message.whole : message);
        continue;
      }
      if (run.length > 0) yield this.#encodeMessages(run);
      run = [];
      if (own.length > 0) yield own;
    }
    if (run.length > 0) yield this.#encodeMessages(run);
  }

  /** A call frame, or undefined: send `whole` by `node:v8`. */
  #encodeCall(call: QueuedCall): Uint8Array | undefined {
    try {
      const frame = encodeCallFrame(call.msg);
      return frame === null ? undefined : this.#fitting(call.whole, frame);
    } catch (error) {
      if (!(error instanceof RangeError)) return undefined; // a bigint: node:v8
      this.#hooks.onDropped?.(call.whole, error); // too large: dropped alone
      return new Uint8Array(0);
    }
  }

  /** `frame`, or nothing when it is over the limit (`message` dropped). */
  #fitting(message: unknown, frame: Uint8Array): Uint8Array {
    if (frame.length - 4 <= this.maxFrameBytes) return frame;
    this.#hooks.onDropped?.(message, this.#overLimit(frame.length - 4));
    return new Uint8Array(0);
  }

  #overLimit(bytes: number): RangeError {
    return new RangeError(
      `Frame of ${bytes} bytes exceeds the limit of ${this.maxFrameBytes} bytes`,
    );
  }

  /**
   * One frame; a batch over the frame limit, or with a message that cannot
   * be cloned, as one frame per message (a message that cannot be cloned,
   * or alone over the limit, is dropped alone).
   */
  #encodeMessages(batch: unknown[]): Uint8Array {
    try {
      const frame = encodeFrame(batch);
      if (frame.length - 4 <= this.maxFrameBytes) return frame;
    } catch { /* a message cannot be cloned: each alone below */ }
    const frames: Uint8Array[] = [];
    for (const message of batch) {
      try {
        const frame = encodeFrame([message]);
        if (frame.length - 4 > this.maxFrameBytes) {
          throw this.#overLimit(frame.length - 4);
        }
        frames.push(frame);
      } catch (error) {
        this.#hooks.onDropped?.(message, error);
      }
    }
    return frames.length === 1
      ? frames[0]!
      : concat(frames, frames.reduce((n, f) => n + f.length, 0));
  }
}

/**
 * Reads the messages of `conn` until it closes (or fails).
 *
 * @param onMessage receives each message in order
 * @param opts the frames the channel takes besides `node:v8` batches
 */
export async function readMessages(
  conn: { read(p: Uint8Array): Promise<number | null> },
  onMessage: (message: unknown) => void,
  opts: FrameDecoderOptions = {},
): Promise<void> {
  const decoder = new FrameDecoder(opts);
  const buf = new Uint8Array(256 * 1024);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return;
    for (const msg of decoder.push(buf.slice(0, n))) onMessage(msg);
  }
}
