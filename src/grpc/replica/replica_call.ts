/**
 * One gRPC call inside a replica: runs the handler method, feeds it the
 * inbound messages, posts what it returns or yields, and ends the call with
 * a status.
 *
 * @module
 */

import { AsyncQueue } from "./async_queue.ts";
import {
  Code,
  errorCode,
  GrpcError,
  isGrpcError,
} from "../common/grpc_error.ts";
import {
  appendMetadata,
  checkMetadataEntry,
} from "../common/metadata_record.ts";
import {
  GRPC_MESSAGE_BYTES,
  type GrpcFromReplica,
  type GrpcMetadata,
  type GrpcToReplica,
} from "../common/protocol.ts";
import type { GrpcCallInfo } from "../common/call_info.ts";
import type { MethodCodec } from "../common/message_codec.ts";
import type { Batcher } from "../../replica/batcher.ts";
import { withRequest } from "../../replica/request_context.ts";
import { isSampled, parseTraceparent } from "../../edge/trace.ts";
import type { OpenSpan, SpanRecorder } from "../../trace/recorder.ts";
import { SpanKind, traceparentOf } from "../../trace/span.ts";

/** The start message of a call. */
export type StartMessage = Extract<GrpcToReplica, { type: "grpc.start" }>;

/** What a call needs from the replica side. */
export interface ReplicaCallOptions {
  start: StartMessage;
  handler: object;
  post(msg: GrpcFromReplica): void;
  logError(message: string, err: unknown, callId: number): void;
  runWithSlot<T>(fn: () => Promise<T>): Promise<T>;
  /** Keeps the replica from draining until the promise settles. */
  track?(work: Promise<unknown>): void;
  /** The batcher of a unary method (server_side_batching). */
  batcherFor?(method: string, fn: Method): Batcher<GrpcCallInfo>;
  /** Records the call's spans when tracing is on. */
  tracer?: SpanRecorder;
  /**
   * The RPC's codec when messages come and go as protobuf bytes; without
   * it they are message objects.
   */
  codec?: MethodCodec;
}

const DEADLINE_SLACK_MS = 100;

/** A handler method of an RPC. */
export type Method = (payload: unknown, info: GrpcCallInfo) => unknown;

/**
 * Finds the handler method for an RPC: `Predict`, else `predict`.
 *
 * @param handler the user's Handler instance
 * @param rpc the RPC name as in the `.proto`
 * @returns the method, or undefined when the handler has none
 */
export function findMethod(handler: object, rpc: string): Method | undefined {
  const h = handler as Record<string, unknown>;
  const lower = rpc.charAt(0).toLowerCase() + rpc.slice(1);
  const fn = typeof h[rpc] === "function" ? h[rpc] : h[lower];
  return typeof fn === "function" ? fn as Method : undefined;
}

/** A call in progress in a replica. */
export class ReplicaCall {
  readonly input: AsyncQueue<unknown> = new AsyncQueue();
  #opts: ReplicaCallOptions;
  #controller = new AbortController();
  #headers: GrpcMetadata = {};
  #trailers: GrpcMetadata = {};
  #headerSent = false;
  #finished = false;
  /** Resolves when the call has ended (its status is sent). */
  readonly #ended = Promise.withResolvers<void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The call's server span (tracing on). */
  readonly #span: OpenSpan | null = null;
  /** Response bytes sent and not yet credited back (streams with a window). */
  #unacked = 0;
  /** Resolves the stream loop's wait for credit. */
  #creditWaiter: (() => void) | null = null;

  constructor(opts: ReplicaCallOptions) {
    this.#opts = opts;
    const { deadline, metadata, service, method } = opts.start;
    const tp = metadata.traceparent;
    const parent = typeof tp === "string" ? parseTraceparent(tp) : null;
    if (opts.tracer && (parent === null || isSampled(parent))) {
      this.#span = opts.tracer.start(
        `${service}/${method}`,
        SpanKind.SERVER,
        parent,
        {
          "rpc.system": "grpc",
          "rpc.service": service,
          "rpc.method": method,
          "cortex.request_id": opts.start.requestId,
        },
      );
    }
    if (deadline !== null) {
      this.#timer = setTimeout(
        () => this.abort(Code.DEADLINE_EXCEEDED, "Deadline exceeded"),
        Math.max(0, deadline - Date.now()),
      );
    }
  }

  /** Runs the handler method to the end of the call; never throws. */
  async run(): Promise<void> {
    const { start, handler } = this.#opts;
    const name = `${start.service}/${start.method}`;
    const fn = findMethod(handler, start.method);
    if (fn === undefined) {
      return this.#finish(
        Code.UNIMPLEMENTED,
        `Method "${name}" is not implemented by the handler of API "${start.api}"`,
      );
    }
    if (start.kind === "unary" && this.#opts.batcherFor) {
      // Batched: the batch holds a slot, not each call.
      const batcher = this.#opts.batcherFor(start.method, fn);
      const work = Promise.race([
        this.#invokeBatched(batcher, name),
        this.#ended.promise,
      ]);
      this.#opts.track?.(work);
      return await work;
    }
    try {
      // The slot's promise must not reject: the core may chain on it (e.g.
      // `.finally()` to track pending work) and an unhandled rejection there
      // crashes the replica. Handler failures are settled inside the slot.
      await this.#opts.runWithSlot(() => {
        if (this.#finished) return Promise.resolve();
        // The slot is held until the call ends, not until the handler
        // returns: at the deadline (or a cancel) the call ends at once and a
        // handler that ignores its signal runs on without a slot, its late
        // result dropped.
        return Promise.race([this.#invoke(fn, name), this.#ended.promise]);
      });
    } catch (err) {
      this.#fail(err, name);
    }
  }

  async #invoke(fn: Method, name: string): Promise<void> {
    const { start, handler } = this.#opts;
    try {
      const streamIn = start.kind === "client_stream" || start.kind === "bidi";
      const payload = streamIn ? this.input : await this.#single();
      // In the call's scope: log lines and chained calls carry its request
      // id and its traceparent (from metadata).
      // Tracing on: under a handler span of the call's server span.
      const span = this.#span === null ? null : this.#opts.tracer!.start(
        `handler ${start.method}`,
        SpanKind.INTERNAL,
        this.#span,
        { "code.function": start.method },
      );
      const traceparent = span
        ? traceparentOf(span)
        : start.metadata.traceparent;
      const trace = typeof traceparent === "string"
        ? parseTraceparent(traceparent)
        : null;
      const scope = trace
        ? {
          requestId: start.requestId,
          traceparent: traceparent as string,
          trace: { traceId: trace.traceId, spanId: trace.spanId },
        }
        : { requestId: start.requestId };
      try {
        const result = withRequest(
          scope,
          () => fn.call(handler, payload, this.#info()),
        );
        if (start.kind === "server_stream" || start.kind === "bidi") {
          await this.#sendStream(await result, name);
        } else {
          this.#send(await result, name);
        }
        span?.end();
      } catch (err) {
        span?.end((err as Error)?.message ?? String(err));
        throw err;
      }
      this.#finish(Code.OK, "");
    } catch (err) {
      this.#fail(err, name);
    }
  }

  async #invokeBatched(
    batcher: Batcher<GrpcCallInfo>,
    name: string,
  ): Promise<void> {
    try {
      const payload = await this.#single();
      const outcome = await batcher.submit(
        payload,
        this.#info(),
        this.#controller.signal,
      );
      this.#send(outcome.value, name);
      this.#finish(Code.OK, "");
    } catch (err) {
      this.#fail(err, name);
    }
  }

  /** Takes one inbound message (decoded first when the call has a codec). */
  receive(message: unknown): void {
    const codec = this.#opts.codec;
    if (codec === undefined) return this.input.push(message);
    if (!(message instanceof Uint8Array)) {
      return this.abort(Code.INTERNAL, "Request message is not bytes");
    }
    let decoded: unknown;
    try {
      decoded = codec.decode(message);
    } catch (err) {
      return this.abort(Code.INVALID_ARGUMENT, (err as Error).message);
    }
    this.input.push(decoded);
  }

  /**
   * Handles `grpc.cancel`. The client cancels at its deadline slightly
   * before ours (ours counts from when the request arrived), so a cancel
   * that close to the deadline is reported as DEADLINE_EXCEEDED.
   */
  cancel(): void {
    const { deadline } = this.#opts.start;
    if (deadline !== null && Date.now() >= deadline - DEADLINE_SLACK_MS) {
      this.abort(Code.DEADLINE_EXCEEDED, "Deadline exceeded");
    } else this.abort(Code.CANCELLED, "Call cancelled");
  }

  /** Aborts the handler's signal and ends the call with `code`. */
  abort(code: Code, message: string): void {
    if (this.#finished) return;
    const reason = new GrpcError(code, message);
    this.#controller.abort(reason);
    this.input.fail(reason);
    this.#finish(code, message);
  }

  async #single(): Promise<unknown> {
    const first = await this.input.next();
    if (first.done) {
      throw new GrpcError(Code.INVALID_ARGUMENT, "Request message missing");
    }
    return first.value;
  }

  async #sendStream(result: unknown, name: string): Promise<void> {
    const r = result as Record<symbol, unknown> | null;
    const iterable = typeof r?.[Symbol.asyncIterator] === "function" ||
      (typeof r?.[Symbol.iterator] === "function" && typeof r !== "string");
    if (!iterable) {
      throw new TypeError(
        `Handler method "${name}" returned ${typeof result}: a streaming RPC needs an async iterable or an async generator method`,
      );
    }
    const window = this.#opts.start.window;
    for await (const message of result as AsyncIterable<unknown>) {
      if (this.#finished) break;
      this.#send(message, name);
      // Flow control: the next message is pulled from the handler only once
      // the client's stream has taken enough of the ones sent.
      if (window !== undefined && this.#unacked >= window) {
        await this.#creditBelow(window);
        if (this.#finished) break;
      }
    }
  }

  /** Waits until the unacknowledged bytes are below `window` or the call ends. */
  async #creditBelow(window: number): Promise<void> {
    while (this.#unacked >= window && !this.#finished) {
      await new Promise<void>((resolve) => this.#creditWaiter = resolve);
    }
  }

  /** Handles `grpc.credit`: the client's stream took `bytes` of responses. */
  credit(bytes: number): void {
    this.#unacked = Math.max(0, this.#unacked - bytes);
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#creditWaiter;
    this.#creditWaiter = null;
    waiter?.();
  }

  #send(message: unknown, name: string): void {
    if (this.#finished) return;
    const codec = this.#opts.codec;
    if (codec !== undefined) message = this.#encode(codec, message, name);
    this.#flushHeader();
    const callId = this.#opts.start.callId;
    if (message instanceof Uint8Array) this.#unacked += message.byteLength;
    try {
      this.#opts.post({ type: "grpc.message", callId, message });
    } catch (err) {
      throw new TypeError(
        `Handler method "${name}" returned a value that cannot be sent: ${
          (err as Error).message
        }`,
      );
    }
  }

  /** The response's bytes; a value that does not fit ends the call INTERNAL. */
  #encode(codec: MethodCodec, message: unknown, name: string): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = codec.encode(message);
    } catch (err) {
      const details =
        `Handler method "${name}" returned an invalid ${codec.outputName}: ${
          (err as Error).message
        }`;
      this.#opts.logError(details, err, this.#opts.start.callId);
      throw new GrpcError(Code.INTERNAL, details);
    }
    // What grpc-js would refuse to send; the serving process takes no more.
    if (bytes.length > GRPC_MESSAGE_BYTES) {
      throw new GrpcError(
        Code.RESOURCE_EXHAUSTED,
        `Handler method "${name}" returned a ${codec.outputName} of ${bytes.length} bytes, over the limit of ${GRPC_MESSAGE_BYTES} bytes`,
      );
    }
    return bytes;
  }

  #fail(err: unknown, name: string): void {
    if (this.#finished) return;
    if (isGrpcError(err)) {
      for (const [k, v] of Object.entries(err.metadata ?? {})) {
        appendMetadata(this.#trailers, k, String(v));
      }
      return this.#finish(errorCode(err.code), String(err.message));
    }
    const { callId, requestId } = this.#opts.start;
    // The client only gets the request id, so the log line must carry it.
    this.#opts.logError(
      `gRPC handler method "${name}" failed (request id "${requestId}")`,
      err,
      callId,
    );
    this.#finish(
      Code.INTERNAL,
      `Internal error: see the server log for request id "${requestId}"`,
    );
  }

  #finish(code: Code, details: string): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#span !== null) {
      this.#span.set("rpc.grpc.status_code", code);
      this.#span.end(code === Code.OK ? undefined : details || `code ${code}`);
    }
    this.#ended.resolve();
    this.#wake();
    clearTimeout(this.#timer);
    this.#flushHeader();
    const callId = this.#opts.start.callId;
    const trailers = Object.keys(this.#trailers).length > 0
      ? this.#trailers
      : undefined;
    this.#opts.post({ type: "grpc.done", callId, code, details, trailers });
  }

  #flushHeader(): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    if (Object.keys(this.#headers).length === 0) return;
    const callId = this.#opts.start.callId;
    this.#opts.post({ type: "grpc.header", callId, metadata: this.#headers });
  }

  #info(): GrpcCallInfo {
    const { start } = this.#opts;
    return {
      service: start.service,
      method: start.method,
      metadata: start.metadata,
      signal: this.#controller.signal,
      deadline: start.deadline === null ? null : new Date(start.deadline),
      requestId: start.requestId,
      setHeader: (key, value) => {
        if (this.#headerSent) {
          throw new Error(
            `Cannot set header "${key}": the response headers were already sent`,
          );
        }
        checkMetadataEntry(key, value);
        appendMetadata(this.#headers, key, value);
      },
      setTrailer: (key, value) => {
        checkMetadataEntry(key, value);
        appendMetadata(this.#trailers, key, value);
      },
    };
  }
}
