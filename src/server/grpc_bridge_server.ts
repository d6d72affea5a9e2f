/**
 * The serving process's end of the gRPC bridge: listens on a Unix socket for
 * the gRPC process (which runs grpc-js, see src/grpc_process/main.ts), tells
 * it the gRPC APIs and their health, admits each call it relays into the
 * replica pools and relays the call's messages both ways.
 *
 * When the gRPC process dies (node:http2 in Deno can abort the process),
 * every call it held is cancelled in the replicas and its lease released at
 * once, so HTTP traffic and admission counts are unaffected; the restarted
 * gRPC process connects again.
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
import { Code } from "../grpc/common/grpc_error.ts";
import {
  type GrpcBackend,
  type GrpcFromReplica,
  type GrpcLease,
  isRefusal,
} from "../grpc/common/protocol.ts";
import { MIN_FRAME_BYTES } from "../wire/channel_limits.ts";
import type { Logger } from "../log/logger.ts";
import { isServing, prepareGrpcApis } from "./grpc_apis.ts";
import type { GrpcSide, Server } from "./project_server.ts";

/** Options of {@linkcode GrpcBridgeServer}. */
export interface BridgeServerOptions {
  /** The Unix socket path (replaced when it exists). */
  path: string;
  /**
   * Bind here, then rename the socket to `path`. Deno unlinks the path a
   * listener was bound to when it closes: a serving process being replaced
   * would otherwise remove the socket its replacement has just bound at
   * `path`. With a path of its own, closing unlinks nothing that matters.
   */
  bindPath?: string;
  /** Admission into the replica pools (`PoolGrpcBackend`). */
  backend: GrpcBackend;
  /** The gRPC APIs, without health. */
  apis: Omit<BridgeApi, "serving">[];
  /** An API's current readiness. */
  isServing(name: string): boolean;
  /** Sent in the hello: how long the gRPC process may drain. */
  shutdownGraceMs: number;
  logger: Logger;
  /** How often health is checked for changes (default 500 ms). */
  pollMs?: number;
}

/** Accepts gRPC process connections and serves their calls. */
export class GrpcBridgeServer {
  readonly #opts: BridgeServerOptions;
  #listener: Deno.Listener | null = null;
  readonly #conns = new Set<BridgeConnection>();
  #port: number | null = null;
  #portWaiters = new Set<() => void>();

  constructor(opts: BridgeServerOptions) {
    this.#opts = opts;
  }

  /** The gRPC port last reported by the gRPC process. */
  get port(): number | null {
    return this.#port;
  }

  /** Calls in flight over every connection. */
  get openCalls(): number {
    let n = 0;
    for (const c of this.#conns) n += c.openCalls;
    return n;
  }

  /** Connected gRPC processes (0 or 1, briefly 2 across a restart). */
  get connections(): number {
    return this.#conns.size;
  }

  /** Listens on the socket and accepts connections in the background. */
  async listen(): Promise<void> {
    const { path, bindPath = path } = this.#opts;
    await Deno.remove(bindPath).catch(() => {});
    const listener = Deno.listen({ transport: "unix", path: bindPath });
    // Atomic: the gRPC process finds either the old socket or this one.
    if (bindPath !== path) await Deno.rename(bindPath, path);
    this.#listener = listener;
    void (async () => {
      try {
        for await (const conn of listener) this.#accept(conn);
      } catch {
        // Closed.
      }
    })();
  }

  #accept(conn: Deno.Conn): void {
    const c = new BridgeConnection(conn, this.#opts, (port) => {
      this.#port = port;
      for (const w of this.#portWaiters) w();
    });
    this.#conns.add(c);
    this.#opts.logger.info("gRPC process connected");
    void c.run().finally(() => this.#conns.delete(c));
  }

  /**
   * Resolves once a gRPC process has reported its port, or after
   * `timeoutMs`, with the port or null.
   */
  async waitForPort(timeoutMs: number): Promise<number | null> {
    if (this.#port !== null) return this.#port;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#portWaiters.add(resolve);
    const timer = setTimeout(resolve, timeoutMs);
    await promise;
    clearTimeout(timer);
    this.#portWaiters.delete(resolve);
    return this.#port;
  }

  /** Sends health now (e.g. when draining starts) instead of at the next poll. */
  pollHealth(): void {
    for (const c of this.#conns) c.pollHealth();
  }

  /**
   * Reports NOT_SERVING (through `isServing`), waits up to `graceMs` for
   * calls in flight, then closes: what is left is cancelled.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.pollHealth();
    const end = Date.now() + graceMs;
    while (this.openCalls > 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.close();
  }

  /**
   * Stops listening and drops every connection (cancelling its calls). With
   * a `bindPath`, the socket file at `path` stays: it may be a replacement's
   * (the gRPC process reconnects there once this connection closes); the
   * supervisor removes its scratch root at exit.
   */
  async close(): Promise<void> {
    try {
      this.#listener?.close();
    } catch {
      // Already closed.
    }
    this.#listener = null;
    await Promise.all([...this.#conns].map((c) => c.close()));
    if (this.#opts.bindPath === undefined) {
      await Deno.remove(this.#opts.path).catch(() => {});
    }
  }
}

/** One connected gRPC process. */
class BridgeConnection {
  readonly #conn: Deno.Conn;
  readonly #opts: BridgeServerOptions;
  readonly #onPort: (port: number) => void;
  readonly #writer: FrameWriter;
  /** Leases by the gRPC process's call id. */
  readonly #calls = new Map<number, GrpcLease>();
  #health = "";
  #closed = Promise.withResolvers<void>();

  constructor(
    conn: Deno.Conn,
    opts: BridgeServerOptions,
    onPort: (port: number) => void,
  ) {
    this.#conn = conn;
    this.#opts = opts;
    this.#onPort = onPort;
    this.#writer = new FrameWriter(conn, {
      onError: () => this.#closeConn(),
      onDropped: (msg, error) =>
        opts.logger.exception("Dropped a gRPC bridge message", error, {
          extra: { type: (msg as { type?: string })?.type },
        }),
    });
  }

  get openCalls(): number {
    return this.#calls.size;
  }

  #send(msg: ToGrpcProcess): void {
    this.#writer.send(msg);
  }

  /**
   * A call's message, as a call frame (JSON plus the raw protobuf bytes,
   * frames.ts) rather than in a `node:v8` batch.
   */
  #sendCall(msg: GrpcFromReplica): void {
    this.#writer.sendCall(msg as CallMessage);
  }

  /** Serves the connection until it closes, then cancels what it held. */
  async run(): Promise<void> {
    const serving = this.#serving();
    this.#health = JSON.stringify(serving);
    this.#send({
      type: "hello",
      apis: this.#opts.apis.map((a) => ({ ...a, serving: serving[a.name]! })),
      shutdownGraceMs: this.#opts.shutdownGraceMs,
    });
    const timer = setInterval(
      () => this.pollHealth(),
      this.#opts.pollMs ?? 500,
    );
    try {
      await readMessages(
        this.#conn,
        (msg) => this.#onMessage(msg as FromGrpcProcess),
        // Call messages are at most GRPC_MESSAGE_BYTES; nothing is larger.
        { calls: (msg) => msg, maxFrameBytes: () => MIN_FRAME_BYTES },
      );
    } catch (error) {
      // Reset by a dying peer: the same as a close.
      if (error instanceof FrameTooLarge) {
        this.#opts.logger.error(
          `The gRPC process ${error.message}; closed the bridge (its calls are cancelled)`,
        );
      }
    } finally {
      clearInterval(timer);
      this.#closeConn();
      this.#cancelAll();
      this.#closed.resolve();
    }
  }

  #serving(): Record<string, boolean> {
    return Object.fromEntries(
      this.#opts.apis.map((a) => [a.name, this.#opts.isServing(a.name)]),
    );
  }

  /** Sends the APIs' health when it changed since last sent. */
  pollHealth(): void {
    const serving = this.#serving();
    const key = JSON.stringify(serving);
    if (key === this.#health) return;
    this.#health = key;
    this.#send({ type: "health", serving });
  }

  #onMessage(msg: FromGrpcProcess): void {
    switch (msg.type) {
      case "listening":
        return this.#onPort(msg.port);
      case "grpc.start":
        return this.#start(msg);
      case "grpc.credit":
        // Credit the gRPC process cannot have owed is dropped, not trusted.
        if (!Number.isSafeInteger(msg.bytes) || msg.bytes <= 0) return;
      // falls through
      case "grpc.message":
      case "grpc.end":
      case "grpc.cancel": {
        const lease = this.#calls.get(msg.callId);
        lease?.post({ ...msg, callId: lease.callId });
        return;
      }
    }
  }

  #start(msg: Extract<FromGrpcProcess, { type: "grpc.start" }>): void {
    const id = msg.callId;
    const lease = this.#opts.backend.admit(msg.api, msg);
    if (isRefusal(lease)) {
      this.#sendCall({ type: "grpc.done", callId: id, ...lease });
      return;
    }
    if (lease === null) {
      this.#sendCall({
        type: "grpc.done",
        callId: id,
        code: Code.UNAVAILABLE,
        details: `API "${msg.api}" is at its concurrency limit: retry later`,
      });
      return;
    }
    this.#calls.set(id, lease);
    lease.onMessage((reply) => {
      if (reply.type === "grpc.done") this.#finish(id, lease);
      this.#sendCall({ ...reply, callId: id });
    });
    lease.onLost((reason) => {
      this.#finish(id, lease);
      this.#sendCall({
        type: "grpc.done",
        callId: id,
        code: Code.UNAVAILABLE,
        details:
          `Replica of API "${msg.api}" stopped during the call: ${reason}`,
      });
    });
    lease.post({ ...msg, callId: lease.callId });
  }

  #finish(id: number, lease: GrpcLease): void {
    if (this.#calls.get(id) !== lease) return;
    this.#calls.delete(id);
    lease.release();
  }

  /** The gRPC process is gone: cancel its calls in the replicas. */
  #cancelAll(): void {
    const n = this.#calls.size;
    for (const [id, lease] of [...this.#calls]) {
      lease.post({ type: "grpc.cancel", callId: lease.callId });
      this.#finish(id, lease);
    }
    const level = n > 0 ? "warning" : "info";
    this.#opts.logger[level](
      `gRPC process disconnected${
        n > 0 ? `: cancelled ${n} call(s) in flight` : ""
      }`,
      { extra: { cancelledCalls: n } },
    );
  }

  #closeConn(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Closes the connection and waits until its calls are cancelled. */
  async close(): Promise<void> {
    this.#closeConn();
    await this.#closed.promise;
  }
}

/**
 * The gRPC side of a server under `cortex serve`: the bridge to the gRPC
 * process instead of grpc-js in this process.
 */
export class GrpcBridgeFrontend implements GrpcSide {
  readonly #server: Server;
  readonly #path: string;
  readonly #bindPath: string | undefined;
  #bridge: GrpcBridgeServer | null = null;

  constructor(server: Server, path: string, bindPath?: string) {
    this.#server = server;
    this.#path = path;
    this.#bindPath = bindPath;
  }

  /** The port the gRPC process listens on, once it has reported it. */
  get port(): number | null {
    return this.#bridge?.port ?? null;
  }

  /** Checks the APIs and listens for the gRPC process. */
  async start(): Promise<void> {
    const s = this.#server;
    const apis = (await prepareGrpcApis(s)).map((a) => ({
      name: a.name,
      protobufPath: a.protobufPath,
      handlerMethods: a.handlerMethods,
    }));
    this.#bridge = new GrpcBridgeServer({
      path: this.#path,
      bindPath: this.#bindPath,
      backend: s.grpcBackend,
      apis,
      isServing: (name) => isServing(s, name),
      shutdownGraceMs: Math.max(
        0,
        ...s.project.apis.map((a) => a.handler.shutdownGracePeriodMs),
      ),
      logger: s.logger.child({ component: "grpc-bridge" }),
    });
    await this.#bridge.listen();
  }

  /** Waits (up to `timeoutMs`) for the gRPC process to report its port. */
  async ready(timeoutMs: number): Promise<void> {
    const port = await this.#bridge?.waitForPort(timeoutMs);
    if (port === null) {
      this.#server.logger.warning(
        `The gRPC process has not reported its port after ${timeoutMs} ms`,
      );
    }
  }

  /** Drains the bridge (the gRPC process drains itself on "drain"). */
  async shutdown(graceMs: number): Promise<void> {
    await this.#bridge?.shutdown(graceMs);
  }
}
