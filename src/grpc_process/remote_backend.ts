/**
 * The gRPC process's `GrpcBackend`: every call goes over the Unix socket to
 * the serving process, which admits it (answering UNAVAILABLE when the API
 * is at its limit) and runs it in a replica. Reconnects with backoff when
 * the serving process goes away; the calls open at that moment are lost.
 *
 * @module
 */

import type {
  BridgeApi,
  FromGrpcProcess,
  ToGrpcProcess,
} from "../grpc/common/bridge_protocol.ts";
import {
  type CallMessage,
  FrameTooLarge,
  FrameWriter,
  readMessages,
} from "../grpc/common/frames.ts";
import type {
  GrpcBackend,
  GrpcFromReplica,
  GrpcLease,
  GrpcToReplica,
} from "../grpc/common/protocol.ts";
import { MIN_FRAME_BYTES } from "../wire/channel_limits.ts";
import type { Logger } from "../log/logger.ts";

/** The hello of the serving process. */
export type Hello = Extract<ToGrpcProcess, { type: "hello" }>;

/** Options of {@linkcode RemoteBackend}. */
export interface RemoteBackendOptions {
  /** The serving process's socket. */
  path: string;
  logger: Logger;
  /** Each connection's hello, before its calls. */
  onHello(hello: Hello): void;
  /** An API's health changed (or every API is down: disconnected). */
  onServing?(api: string, serving: boolean): void;
  /** First reconnect delay (default 50 ms), doubled up to `maxBackoffMs`. */
  minBackoffMs?: number;
  /** Longest reconnect delay (default 1 s). */
  maxBackoffMs?: number;
}

interface RemoteCall {
  onMessage(msg: GrpcFromReplica): void;
  onLost(reason: string): void;
}

const GONE = "the serving process is unavailable (restarting?)";

/** Relays calls to the serving process. */
export class RemoteBackend implements GrpcBackend {
  readonly #opts: RemoteBackendOptions;
  readonly #calls = new Map<number, RemoteCall>();
  #nextId = 1;
  #conn: Deno.Conn | null = null;
  #writer: FrameWriter | null = null;
  #serving = new Map<string, boolean>();
  #port: number | null = null;
  #stopped = false;

  constructor(opts: RemoteBackendOptions) {
    this.#opts = opts;
  }

  /** True while connected to the serving process. */
  get connected(): boolean {
    return this.#writer !== null;
  }

  /** Calls in flight. */
  get openCalls(): number {
    return this.#calls.size;
  }

  /** Whether `api` is up: connected and the serving process says so. */
  isServing(api: string): boolean {
    return this.connected && (this.#serving.get(api) ?? false);
  }

  /**
   * Every call gets a lease at once: the serving process decides admission.
   * While disconnected, the call is lost as soon as it posts its start.
   */
  admit(_apiName: string): GrpcLease {
    const callId = this.#nextId++;
    const call: RemoteCall = { onMessage: () => {}, onLost: () => {} };
    this.#calls.set(callId, call);
    return {
      callId,
      post: (msg: GrpcToReplica) => {
        if (this.#calls.get(callId) !== call) return;
        if (this.#writer) {
          this.#writer.sendCall(msg satisfies FromGrpcProcess as CallMessage);
        } else queueMicrotask(() => this.#lose(callId, GONE));
      },
      onMessage: (listener) => call.onMessage = listener,
      onLost: (listener) => call.onLost = listener,
      release: () => {
        if (this.#calls.get(callId) === call) this.#calls.delete(callId);
      },
    };
  }

  /** Reports the bound gRPC port now and after every reconnect. */
  setPort(port: number): void {
    this.#port = port;
    this.#writer?.send({ type: "listening", port } satisfies FromGrpcProcess);
  }

  /** Connects, serves, and reconnects until {@linkcode stop}. */
  async run(): Promise<void> {
    const min = this.#opts.minBackoffMs ?? 50;
    const max = this.#opts.maxBackoffMs ?? 1_000;
    let backoff = min;
    while (!this.#stopped) {
      let conn: Deno.Conn;
      try {
        conn = await Deno.connect({ transport: "unix", path: this.#opts.path });
      } catch {
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, max);
        continue;
      }
      backoff = min;
      if (this.#stopped) {
        conn.close();
        break;
      }
      await this.#serve(conn);
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    this.#conn = conn;
    const writer = new FrameWriter(conn, {
      onError: () => this.#closeConn(),
      onDropped: (msg, error) =>
        this.#opts.logger.exception("Dropped a gRPC bridge message", error, {
          extra: { type: (msg as { type?: string })?.type },
        }),
    });
    let hello = false;
    try {
      await readMessages(conn, (raw) => {
        const msg = raw as ToGrpcProcess;
        if (msg.type === "hello") {
          hello = true;
          this.#writer = writer;
          this.#opts.logger.info("Connected to the serving process");
          this.#opts.onHello(msg);
          this.#setServing(msg.apis);
          if (this.#port !== null) this.setPort(this.#port);
        } else if (msg.type === "health") {
          this.#setServing(
            Object.entries(msg.serving).map(([name, serving]) => ({
              name,
              serving,
            })),
          );
        } else this.#calls.get(msg.callId)?.onMessage(msg);
        // Call messages are at most GRPC_MESSAGE_BYTES; nothing is larger.
      }, { calls: (msg) => msg, maxFrameBytes: () => MIN_FRAME_BYTES });
    } catch (error) {
      // Reset by a dying peer: the same as a close.
      if (error instanceof FrameTooLarge) {
        this.#opts.logger.error(
          `The serving process ${error.message}; reconnecting`,
        );
      }
    } finally {
      this.#closeConn();
      this.#writer = null;
      this.#conn = null;
      if (hello) this.#disconnected();
    }
  }

  #setServing(apis: Pick<BridgeApi, "name" | "serving">[]): void {
    for (const { name, serving } of apis) {
      this.#serving.set(name, serving);
      this.#opts.onServing?.(name, this.isServing(name));
    }
  }

  #disconnected(): void {
    const lost = [...this.#calls.keys()];
    for (const id of lost) this.#lose(id, GONE);
    for (const name of this.#serving.keys()) {
      this.#opts.onServing?.(name, false);
    }
    if (!this.#stopped) {
      this.#opts.logger.warning(
        `Lost the serving process${
          lost.length > 0 ? ` (${lost.length} call(s) failed)` : ""
        }; reconnecting`,
        { extra: { lostCalls: lost.length } },
      );
    }
  }

  #lose(callId: number, reason: string): void {
    const call = this.#calls.get(callId);
    if (!call) return;
    this.#calls.delete(callId);
    call.onLost(reason);
  }

  #closeConn(): void {
    try {
      this.#conn?.close();
    } catch {
      // Already closed.
    }
  }

  /** Stops reconnecting and closes the connection. */
  stop(): void {
    this.#stopped = true;
    this.#closeConn();
  }
}
