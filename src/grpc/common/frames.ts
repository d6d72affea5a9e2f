/**
 * Length-prefixed frames for the socket between the serving process and the
 * gRPC process: a 4-byte big-endian length, then a `node:v8` serialization
 * (the structured clone format, so bigints, Uint8Arrays and plain
 * `@bufbuild/protobuf` message objects cross unchanged, as with postMessage).
 *
 * One frame carries a batch of messages: `node:v8` costs ~20 µs per call in
 * Deno whatever the size, so {@linkcode FrameWriter} sends everything queued
 * within one event-loop turn (and during a write) as one frame.
 *
 * A text frame (the top bit of the length set) carries one string as UTF-8
 * instead: a replica's batch of log lines, which `node:v8` (Deno's JavaScript
 * serializer) copies at about 0.4 µs a line where `TextEncoder` takes 0.1.
 * Only a decoder created with `{ text: true }` accepts text frames.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { deserialize, serialize } from "node:v8";

/** Largest frame accepted (a batch may hold several 32 MiB messages). */
export const MAX_FRAME_BYTES = 1 << 30;

/** Set in a frame's length word: the frame is one UTF-8 string. */
const TEXT_FRAME = 0x8000_0000;

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

/** Splits a byte stream into frames and decodes their messages. */
export class FrameDecoder {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  readonly #text: boolean;

  /**
   * @param opts `text`: accept text frames (each decodes to a string);
   *   without it a text frame throws, as a malformed frame does.
   */
  constructor(opts: { text?: boolean } = {}) {
    this.#text = opts.text ?? false;
  }

  /**
   * Adds bytes read from the stream.
   *
   * @returns the messages of every frame completed by `chunk`, in order
   * @throws {RangeError} when a frame announces more than MAX_FRAME_BYTES
   * @throws {TypeError} on a text frame when text frames are not accepted
   */
  push(chunk: Uint8Array): unknown[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: unknown[] = [];
    while (this.#buffered >= 4) {
      const head = this.#peek(4);
      const word = new DataView(head.buffer, head.byteOffset, 4)
        .getUint32(0);
      const text = word >= TEXT_FRAME;
      const length = text ? word - TEXT_FRAME : word;
      if (text && !this.#text) {
        throw new TypeError("Text frame on a channel that takes none");
      }
      if (length > MAX_FRAME_BYTES) {
        throw new RangeError(
          `Frame of ${length} bytes exceeds ${MAX_FRAME_BYTES} bytes`,
        );
      }
      if (this.#buffered < 4 + length) break;
      const frame = this.#take(4 + length);
      if (text) {
        out.push(utf8Decoder.decode(frame.subarray(4)));
        continue;
      }
      const batch = deserialize(frame.subarray(4)) as unknown;
      if (!Array.isArray(batch)) throw new TypeError("Frame is not a batch");
      out.push(...batch);
    }
    return out;
  }

  /** Bytes waiting for the rest of their frame. */
  get buffered(): number {
    return this.#buffered;
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

  constructor(sink: FrameSink, hooks: FrameWriterHooks = {}) {
    this.#sink = sink;
    this.#hooks = hooks;
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
        const frame = this.#encode(batch);
        let at = 0;
        while (at < frame.length) {
          at += await this.#sink.write(frame.subarray(at));
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

  /** The batch's frames: runs of messages, and each text on its own. */
  #encode(batch: unknown[]): Uint8Array {
    if (!batch.some((m) => m instanceof QueuedText)) {
      return this.#encodeMessages(batch);
    }
    const frames: Uint8Array[] = [];
    let run: unknown[] = [];
    for (const message of batch) {
      if (!(message instanceof QueuedText)) {
        run.push(message);
        continue;
      }
      if (run.length > 0) frames.push(this.#encodeMessages(run));
      run = [];
      frames.push(encodeTextFrame(message.text));
    }
    if (run.length > 0) frames.push(this.#encodeMessages(run));
    return frames.length === 1
      ? frames[0]!
      : concat(frames, frames.reduce((n, f) => n + f.length, 0));
  }

  /** One frame; a message that cannot be cloned is dropped alone. */
  #encodeMessages(batch: unknown[]): Uint8Array {
    try {
      return encodeFrame(batch);
    } catch {
      const good = batch.filter((message) => {
        try {
          encodeFrame([message]);
          return true;
        } catch (error) {
          this.#hooks.onDropped?.(message, error);
          return false;
        }
      });
      return encodeFrame(good);
    }
  }
}

/**
 * Reads the messages of `conn` until it closes (or fails).
 *
 * @param onMessage receives each message in order
 */
export async function readMessages(
  conn: { read(p: Uint8Array): Promise<number | null> },
  onMessage: (message: unknown) => void,
): Promise<void> {
  const decoder = new FrameDecoder();
  const buf = new Uint8Array(256 * 1024);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return;
    for (const msg of decoder.push(buf.slice(0, n))) onMessage(msg);
  }
}
