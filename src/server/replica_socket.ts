/**
 * The serving process's Unix socket for replica processes. Each replica is
 * started with a one-time nonce and connects here first thing; the first
 * frame it sends must be `{type: "hello", nonce}`. A connection with an
 * unknown or used nonce is closed, so a process cannot open a second channel
 * or take over another replica's. (Replicas also give up their access to the
 * socket's path before any handler code loads.)
 *
 * @module
 */

import { type CallMessage, FrameDecoder } from "../grpc/common/frames.ts";
import { MIN_FRAME_BYTES } from "../wire/channel_limits.ts";

/** An accepted replica channel: its connection and what it sent after hello. */
export interface ReplicaConn {
  conn: Deno.Conn;
  /**
   * Reads the rest of the messages, in order, until the channel closes;
   * rejects with FrameTooLarge on an oversized frame.
   */
  read(onMessage: (msg: unknown) => void): Promise<void>;
}

const HELLO_TIMEOUT_MS = 10_000;

/** A call frame's message, as the replica channel's `grpc` message. */
export function asGrpcMessage(
  msg: CallMessage,
): { type: "grpc"; msg: CallMessage } {
  return { type: "grpc", msg };
}

/** Listens for replica processes and matches them to their nonce. */
export class ReplicaSocket {
  /** Where replicas connect: `unix:<path>` or `<host>:<port>` (loopback). */
  readonly address: string;
  readonly #listener: Deno.Listener;
  readonly #waiting = new Map<string, (c: ReplicaConn) => void>();
  #frameLimit: () => number = () => MIN_FRAME_BYTES;

  private constructor(address: string, listener: Deno.Listener) {
    this.address = address;
    this.#listener = listener;
    void this.#accept();
  }

  /**
   * Listens on loopback TCP: for compiled binaries, whose permissions are
   * fixed before the path of a Unix socket could be known.
   */
  static openLoopback(): ReplicaSocket {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    return new ReplicaSocket(`127.0.0.1:${port}`, listener);
  }

  /** Binds the Unix socket at `path` (removing a stale file first). */
  static open(path: string): ReplicaSocket {
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")) || "/", {
      recursive: true,
    });
    try {
      Deno.removeSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return new ReplicaSocket(
      `unix:${path}`,
      Deno.listen({ transport: "unix", path }),
    );
  }

  /** A fresh nonce, and the connection that presents it. */
  expect(): { nonce: string; conn: Promise<ReplicaConn> } {
    const nonce = crypto.randomUUID();
    const { promise, resolve } = Promise.withResolvers<ReplicaConn>();
    this.#waiting.set(nonce, resolve);
    return { nonce, conn: promise };
  }

  /**
   * Sets the largest frame a replica may send (src/wire/channel_limits.ts:
   * it follows the APIs' body limits, so it is read when a frame larger
   * than MIN_FRAME_BYTES arrives). A larger frame fails the channel's
   * `read` with FrameTooLarge before any of it is buffered.
   */
  limitFrames(limit: () => number): void {
    this.#frameLimit = limit;
  }

  /** Forgets a nonce whose replica will never connect. */
  cancel(nonce: string): void {
    this.#waiting.delete(nonce);
  }

  close(): void {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
  }

  async #accept(): Promise<void> {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      void this.#greet(conn);
    }
  }

  async #greet(conn: Deno.Conn): Promise<void> {
    // Text frames: a replica's batches of log lines (checked as "log"); call
    // frames: its gRPC call messages (checked as "grpc").
    const decoder = new FrameDecoder({
      text: true,
      calls: asGrpcMessage,
      maxFrameBytes: () => this.#frameLimit(),
      minFrameBytes: MIN_FRAME_BYTES,
    });
    const buf = new Uint8Array(64 * 1024);
    const timer = setTimeout(() => conn.close(), HELLO_TIMEOUT_MS);
    let pending: unknown[] = [];
    try {
      while (pending.length === 0) {
        const n = await conn.read(buf);
        if (n === null) throw new Error("closed before hello");
        pending = decoder.push(buf.slice(0, n));
      }
    } catch {
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* closed */ }
      return;
    }
    clearTimeout(timer);
    const hello = pending.shift() as { type?: unknown; nonce?: unknown };
    const resolve = typeof hello?.nonce === "string" && hello.type === "hello"
      ? this.#waiting.get(hello.nonce)
      : undefined;
    if (!resolve) {
      conn.close();
      return;
    }
    this.#waiting.delete(hello.nonce as string);
    resolve({
      conn,
      read: async (onMessage) => {
        for (const msg of pending) onMessage(msg);
        pending = [];
        while (true) {
          const n = await conn.read(buf);
          if (n === null) return;
          const read = buf.subarray(0, n);
          for (const msg of decoder.push(read, true)) onMessage(msg);
        }
      },
    });
  }
}
