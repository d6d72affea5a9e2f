/**
 * One admitted HTTP request inside a replica, as one object instead of a web
 * of closures and promises (this is the hot path: every allocation shows up
 * at 20k+ requests/s). It waits for a slot, parses the body, calls the
 * handler, encodes the result, and enforces the request timeout; callbacks
 * run after the body is sent.
 *
 * @module
 */

import { HttpError } from "../errors/http_error.ts";
import { jsonBodyError, parsePayload } from "../http/payload.ts";
import {
  type Callback,
  encodeResult,
  errorResponse,
  isAsyncIterable,
} from "../http/response.ts";
import { limitBody } from "./body_limit.ts";
import type { BatchOutcome } from "./batcher.ts";
import type { HandlerMethod } from "./handler_loader.ts";
import type { PipelineContext } from "./http_pipeline.ts";
import { moduleImportHint } from "../errors/module_hints.ts";
import { explainPermissionText } from "../errors/permission_hints.ts";
import { LazyRequestInfo } from "./request_info.ts";
import {
  callMethodInRequest,
  isAsyncMethod,
  type RequestScope,
  withRequest,
} from "./request_context.ts";
import { parseTraceparent } from "../edge/trace.ts";
import type {
  StreamBody,
  StreamBodyOptions,
  StreamEnd,
} from "../http/stream_body.ts";
import type { OpenSpan } from "../trace/recorder.ts";
import { SpanKind, traceparentOf } from "../trace/span.ts";

/** `#serve` without a payload: the body is still to be read. */
const NOT_READ = Symbol("not read");
/** `#serve` without a handler value: the handler is still to be called. */
const NOT_CALLED = Symbol("not called");
/** `#settle` of a value: nothing was thrown. */
const NO_ERROR = Symbol("no error");
/** The one Content-Type the fast path takes (as parsePayload's shortcut). */
const JSON_TYPE = "application/json";

/** The outcome the pipeline logs and returns. */
export interface RunResult {
  response: Response;
  /** Body size when known (encoded results), else null. */
  bytesOut: number | null;
  /** True when the response already carries x-request-id. */
  hasId: boolean;
  /** Size of the request's batch (server_side_batching). */
  batchSize?: number;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** Runs the callback once the body has been handed to the connection. */
function afterBody(res: Response, run: () => void): Response {
  if (res.body === null) {
    setTimeout(run, 0);
    return res;
  }
  const body = res.body.pipeThrough(
    new TransformStream({ flush: () => void setTimeout(run, 0) }),
  );
  return new Response(body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}

/**
 * A HEAD answer: the status and headers of the GET (or HEAD) method's
 * response, with the Content-Length its body would have had, and no body.
 * Dropped here rather than by the HTTP layer, so the body is never produced
 * for nothing and a callback runs at once.
 */
function withoutBody(result: RunResult): RunResult {
  const res = result.response;
  const length = result.bytesOut ?? res.headers.get("content-length");
  res.body?.cancel().catch(() => {});
  const head = new Response(null, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
  if (length !== null) head.headers.set("content-length", String(length));
  return { response: head, bytesOut: 0, hasId: result.hasId };
}

/** The server span of a request in a batch, for the batch's links. */
export const spanOfInfo = new WeakMap<object, OpenSpan>();

/**
 * What the pipeline read from a request's headers before the run: each
 * `headers.get` of a served request walks its header list, so every header
 * is read once per request.
 */
export interface RequestHead {
  contentLength: string | null;
  traceparent: string | null;
}

/**
 * State of one admitted request. It is also the request's deadline
 * (`at`, `fire`: src/replica/deadlines.ts), so arming one allocates nothing.
 */
export class RequestRun {
  /** When the request times out (performance.now() ms); see Deadlines. */
  at = 0;
  readonly #ctx: PipelineContext;
  readonly #original: Request;
  readonly #requestId: string;
  #scope: RequestScope;
  /** The request's server span (tracing on), parent of its other spans. */
  readonly #span: OpenSpan | null;
  readonly #method: HandlerMethod;
  readonly #info: LazyRequestInfo;
  readonly #head: RequestHead;
  #timedOut = false;
  /**
   * The wait in progress (body, slot or async handler) that the timeout
   * ends; null once it is over. Dropped as soon as it settles: a run that
   * kept its resolvers (a closure over them) for its whole life made 4-9 MB
   * survive each young-generation GC for the first second of load
   * (scripts/bench/README.md, "Garbage collection in the replica").
   */
  #race: PromiseWithResolvers<unknown> | null = null;
  /**
   * The JSON fast path's answer (see {@linkcode RequestRun.run}): resolves
   * the run's promise; null once answered, and on the general path.
   */
  #reply: ((res: Response | PromiseLike<Response>) => void) | null = null;
  /** Rejects the fast path's run. */
  #fail: ((error: unknown) => void) | null = null;
  readonly #won = (value: unknown) =>
    this.#reply !== null
      ? this.#answer(value, true)
      : this.#endRace()?.resolve(value);
  readonly #lost = (error: unknown) =>
    this.#reply !== null
      ? this.#answer(error, false)
      : this.#endRace()?.reject(error);
  #holdsSlot = false;
  #bodyRead = false;
  #ended = false;
  #logger: ReturnType<PipelineContext["deps"]["loggerFor"]> | null = null;
  readonly #batched: boolean;
  #batchSize: number | undefined = undefined;
  readonly #started: number;
  #stream: StreamBody | null = null;
  #streamTimer: ReturnType<typeof setTimeout> | undefined;
  #streamDone: PromiseWithResolvers<void> | null = null;
  #afterStream: Callback | null = null;

  /**
   * @param started performance.now() when the request arrived: the request
   * timeout and the logged latency count from it.
   */
  constructor(
    ctx: PipelineContext,
    original: Request,
    requestId: string,
    method: HandlerMethod,
    signal: AbortSignal | undefined,
    batched: boolean,
    span: OpenSpan | null,
    started: number,
    head: RequestHead,
  ) {
    this.#ctx = ctx;
    this.#span = span;
    this.#batched = batched;
    this.#original = original;
    this.#requestId = requestId;
    this.#method = method;
    this.#started = started;
    this.#head = head;
    const traceparent = head.traceparent;
    const trace = traceparent ? parseTraceparent(traceparent) : null;
    this.#scope = trace
      ? {
        requestId,
        traceparent: traceparent!,
        trace: { traceId: trace.traceId, spanId: trace.spanId },
      }
      : { requestId };
    this.#info = new LazyRequestInfo(
      original,
      requestId,
      ctx.deps.loggerFor,
      signal,
    );
  }

  #log() {
    return this.#logger ??= this.#ctx.deps.loggerFor(this.#requestId);
  }

  /**
   * The handler call's span; the handler's log lines and chained calls run
   * under it (the request's scope names it).
   */
  #handlerSpan(): OpenSpan {
    const name = this.#method.name.replace(/^bound /, "") || "handler";
    const span = this.#ctx.deps.tracer!.start(
      `handler ${name}`,
      SpanKind.INTERNAL,
      this.#span,
      { "code.function": name },
    );
    this.#scope = {
      requestId: this.#requestId,
      traceparent: traceparentOf(span),
      trace: { traceId: span.traceId, spanId: span.spanId },
    };
    return span;
  }

  /** The request timeout (called by Deadlines). */
  fire(): void {
    this.#timeout();
  }

  /**
   * Serves the request and returns its response, logged and counted
   * (PipelineContext.finish); never rejects.
   */
  run(): Promise<Response> {
    const head = this.#head;
    const length = head.contentLength;
    // The fast path: a JSON body of known length for a plain handler call
    // (no batch, no span, not HEAD). Its only promises are the body's and
    // the run's own; the handler is called in the body's callback, and the
    // general path takes over for what must wait (a queued slot, a
    // promise from the handler). The deadline is armed all the same.
    if (
      length !== null && length !== "0" && !this.#batched &&
      this.#span === null && this.#original.method !== "HEAD" &&
      this.#original.headers.get("content-type") === JSON_TYPE
    ) {
      const ctx = this.#ctx;
      ctx.deadlines.arm(this, ctx.timeoutMs, this.#started);
      const { promise, resolve, reject } = Promise.withResolvers<Response>();
      this.#reply = resolve;
      this.#original.json().then(this.#won, this.#lost);
      // What the callbacks throw (nothing they call should) rejects the run,
      // as an exception of the general path does: never a hung request.
      this.#fail = reject;
      return promise;
    }
    return this.#serveAll();
  }

  async #serveAll(
    payload: unknown = NOT_READ,
    value: unknown = NOT_CALLED,
  ): Promise<Response> {
    return this.#finish(await this.#serve(payload, value));
  }

  /** The fast path's body is read (or failed): its answer. */
  #answer(outcome: unknown, read: boolean): void {
    try {
      if (read) this.#jsonRead(outcome);
      else this.#jsonFailed(outcome);
    } catch (error) {
      this.#reply = null;
      this.#fail!(error);
    }
  }

  /** The handler's method on `payload`, in the request's async context. */
  #callHandler(payload: unknown): unknown {
    return callMethodInRequest(
      this.#scope,
      this.#method,
      payload,
      this.#info,
      isAsyncMethod(this.#method),
    );
  }

  /** The fast path's body is in: the handler runs now, if a slot is free. */
  #jsonRead(payload: unknown): void {
    const reply = this.#reply!;
    this.#reply = null;
    this.#bodyRead = true;
    if (!this.#ctx.deps.slots.tryAcquire()) {
      return reply(this.#serveAll(payload));
    }
    this.#holdsSlot = true;
    let value: unknown;
    try {
      value = this.#callHandler(payload);
    } catch (error) {
      return reply(this.#finish(this.#settle(undefined, error)));
    }
    if (isThenable(value)) {
      return reply(this.#serveAll(payload, value));
    }
    reply(this.#finish(this.#settle(value, NO_ERROR)));
  }

  /** The fast path's body could not be read or parsed. */
  #jsonFailed(error: unknown): void {
    const reply = this.#reply!;
    this.#reply = null;
    reply(this.#finish(this.#settle(
      undefined,
      this.#bodyError(
        jsonBodyError(error),
        null,
      ),
    )));
  }

  /** What a failed body read answers (thrown into {@linkcode #settle}). */
  #bodyError(
    error: unknown,
    limited: { exceeded(): boolean } | null,
  ): unknown {
    if (limited?.exceeded()) {
      return new HttpError(413, this.#ctx.tooLargeMessage);
    }
    // Parse errors are HttpErrors already; anything else is a body that
    // could not be read (cut short by the client): 400, not logged; 499
    // when the client is gone altogether.
    if (error instanceof HttpError || this.#info.clientGone) return error;
    return new HttpError(
      400,
      `Cannot read request body: ${(error as Error)?.message ?? error}`,
    );
  }

  #finish(result: RunResult): Response {
    return this.#ctx.finish(
      this.#original,
      this.#started,
      this.#requestId,
      result.response,
      result.bytesOut,
      result.hasId,
      result.batchSize,
      this.#span,
      this.#head,
    );
  }

  /**
   * The general path: body, slot, handler call, each wait raced with the
   * timeout. `payload` and `value` are given when the fast path read the
   * body (and called the handler) already.
   */
  async #serve(
    payload: unknown = NOT_READ,
    value: unknown = NOT_CALLED,
  ): Promise<RunResult> {
    const ctx = this.#ctx;
    try {
      if (payload === NOT_READ) {
        ctx.deadlines.arm(this, ctx.timeoutMs, this.#started);
        // The body is read before taking a slot: a slot stands for a running
        // handler call, and a plain (synchronous) handler then takes and frees
        // its slot without ever queueing.
        // The request timeout covers the body too: a body that is too slow
        // gets 408 and frees the request's admission at once.
        // Only a body without Content-Length is counted (declaredTooLarge
        // checked the others): nothing to allocate for the common case.
        const limited = this.#head.contentLength === null
          ? limitBody(this.#original, ctx.maxBody, false)
          : null;
        const request = limited?.request ?? this.#original;
        try {
          // The race handles a late rejection (a body that fails after the
          // timeout): no extra catch per request.
          payload = await this.#raceTimeout(
            parsePayload(request, {
              contentLength: this.#head.contentLength,
              contentType: request.headers.get("content-type"),
            }),
          );
        } catch (error) {
          throw this.#bodyError(error, limited);
        }
        if (this.#timedOut) return this.#timeoutResult(408);
        this.#bodyRead = true;
      }
      if (this.#batched) {
        // The batch holds a slot, not each request; the timeout (or the
        // client going away) takes the request out of its batch.
        if (this.#span !== null) spanOfInfo.set(this.#info, this.#span);
        const outcome = await this.#raceTimeout(
          ctx.batcher!.submit(payload, this.#info, this.#info.signal),
        ) as BatchOutcome | undefined;
        if (this.#timedOut) return this.#timeoutResult();
        value = outcome!.value;
        this.#batchSize = outcome!.size;
      } else if (value === NOT_CALLED) {
        const slots = ctx.deps.slots;
        const queue = this.#span === null
          ? null
          : ctx.deps.tracer!.start("queue", SpanKind.INTERNAL, this.#span);
        if (slots.tryAcquire()) {
          this.#holdsSlot = true;
        } else {
          // Queued: the timeout covers the wait; a slot granted after it is
          // handed straight back.
          await this.#raceTimeout(
            slots.acquire().then(() => {
              if (this.#timedOut) slots.release();
              else this.#holdsSlot = true;
            }),
          );
          if (this.#timedOut) {
            queue?.end("timed out waiting for a slot");
            return this.#timeoutResult();
          }
        }
        queue?.end();
        const handlerSpan = this.#span === null ? null : this.#handlerSpan();
        // Only the handler runs in the request's async context (console
        // lines, chained calls): a wider scope costs on every await of the
        // pipeline.
        try {
          value = this.#callHandler(payload);
          if (isThenable(value)) value = await this.#raceTimeout(value);
        } catch (error) {
          handlerSpan?.end((error as Error)?.message ?? String(error));
          throw error;
        }
        handlerSpan?.end(this.#timedOut ? "timed out" : undefined);
      } else {
        // The fast path's handler returned a promise (it holds the slot).
        value = await this.#raceTimeout(value as PromiseLike<unknown>);
      }
    } catch (error) {
      return this.#settle(undefined, error);
    }
    return this.#settle(value, NO_ERROR);
  }

  /**
   * The handler's value (or what was thrown, `NO_ERROR` if nothing) as the
   * run's result: encoded, or a timeout or error answer; the slot released,
   * the deadline cancelled, and the callback or stream wired up. Synchronous:
   * both paths end here.
   */
  #settle(value: unknown, thrown: unknown): RunResult {
    const ctx = this.#ctx;
    let callback: Callback | null = null;
    let result: RunResult;
    try {
      if (thrown !== NO_ERROR) throw thrown;
      if (this.#timedOut) return this.#timeoutResult();
      // Stream options (three closures and the Accept header) only for a
      // result that can stream.
      const encoded = encodeResult(
        value,
        this.#requestId,
        isAsyncIterable(value) ? this.#streamOptions() : undefined,
      );
      callback = encoded.callback;
      if (encoded.stream) {
        // In flight until the stream ends, not until its headers are sent.
        this.#streamStarted(encoded.stream, callback);
        callback = null;
      }
      result = {
        response: encoded.response,
        bytesOut: encoded.bytesOut,
        hasId: encoded.bytesOut !== null,
        batchSize: this.#batchSize,
      };
      if (this.#original.method === "HEAD") result = withoutBody(result);
    } catch (error) {
      if (this.#timedOut) {
        return this.#timeoutResult(this.#bodyRead ? 504 : 408);
      }
      result = {
        response: this.#errorResponse(error),
        bytesOut: null,
        hasId: false,
      };
    } finally {
      this.#releaseSlot();
    }
    ctx.deadlines.cancel(this);
    if (callback === null) {
      if (this.#stream === null) this.#end();
      return result;
    }
    const cb: Callback = callback;
    const callbackDone = Promise.withResolvers<void>();
    ctx.deps.track(callbackDone.promise.then(() => this.#end()));
    result.response = afterBody(result.response, () => {
      Promise.resolve()
        .then(() => withRequest(this.#scope, cb))
        .catch((error) =>
          this.#log().exception(
            `Callback of API "${ctx.deps.api.name}" threw`,
            error,
          )
        )
        .finally(() => callbackDone.resolve());
    });
    return result;
  }

  #streamOptions(): StreamBodyOptions {
    const ctx = this.#ctx;
    return {
      sse: this.#wantsEvents(),
      heartbeatMs: ctx.heartbeatMs,
      onFirstChunk: () =>
        ctx.deps.streamStats?.firstByte(
          (performance.now() - this.#started) / 1000,
        ),
      onStop: (how) => {
        if (this.#info.aborted) return;
        this.#info.abort(
          how === "cancel"
            ? new DOMException("Client went away", "AbortError")
            : new DOMException("Stream ended by the server", "AbortError"),
        );
      },
      onEnd: (how, error) => this.#streamEnded(how, error),
    };
  }

  /** SSE: asked for by the client, or declared by the handler's `streams`. */
  #wantsEvents(): boolean {
    return this.#ctx.sseMethods.has(this.#original.method) ||
      (this.#original.headers.get("accept")?.includes("text/event-stream") ??
        false);
  }

  #streamStarted(stream: StreamBody, callback: Callback | null): void {
    const ctx = this.#ctx;
    this.#stream = stream;
    this.#afterStream = callback;
    this.#streamDone = Promise.withResolvers<void>();
    ctx.deps.track(this.#streamDone.promise);
    ctx.streams.add(stream);
    if (ctx.streamTimeoutMs !== null) {
      this.#streamTimer = setTimeout(() => {
        this.#info.abort(
          new DOMException("Stream timed out", "TimeoutError"),
        );
        stream.end();
      }, ctx.streamTimeoutMs);
    }
  }

  #streamEnded(how: StreamEnd, error: unknown): void {
    const ctx = this.#ctx;
    clearTimeout(this.#streamTimer);
    if (this.#stream) ctx.streams.delete(this.#stream);
    if (how === "error") {
      this.#log().exception(
        `Stream of API "${ctx.deps.api.name}" threw`,
        error,
      );
    }
    ctx.deps.streamStats?.duration(
      (performance.now() - this.#started) / 1000,
    );
    const cb = this.#afterStream;
    const done = () => {
      this.#end();
      this.#streamDone?.resolve();
    };
    // Ended before the run finished setting it up (HEAD drops the body).
    if (this.#streamDone === null) return void queueMicrotask(done);
    if (cb === null) return done();
    Promise.resolve()
      .then(() => withRequest(this.#scope, cb))
      .catch((e) =>
        this.#log().exception(`Callback of API "${ctx.deps.api.name}" threw`, e)
      )
      .finally(done);
  }

  #errorResponse(error: unknown): Response {
    if (error instanceof HttpError) {
      return errorResponse(error.status, error.message, {}, error.headers);
    }
    if (this.#info.clientGone) {
      // The client went away; nobody reads this response.
      return errorResponse(499, "Client closed the request");
    }
    const hint = moduleImportHint(error);
    if (error instanceof Error) {
      // A denial nested in a library's error (node:fs inside a package).
      error.message = explainPermissionText(error.message);
      if (error.stack) error.stack = explainPermissionText(error.stack);
    }
    this.#log().exception(
      `Handler of API "${this.#ctx.deps.api.name}" threw${
        hint ? `: ${hint}` : ""
      }`,
      error,
    );
    return errorResponse(500, "Internal server error", {
      request_id: this.#requestId,
    });
  }

  /** Waits for an async handler, or for the timeout if it comes first. */
  #raceTimeout(value: PromiseLike<unknown>): Promise<unknown> {
    const race = Promise.withResolvers<unknown>();
    this.#race = race;
    value.then(this.#won, this.#lost);
    return race.promise;
  }

  /** The wait in progress, forgotten (a late outcome of it is dropped). */
  #endRace(): PromiseWithResolvers<unknown> | null {
    const race = this.#race;
    this.#race = null;
    return race;
  }

  #timeout(): void {
    this.#timedOut = true;
    this.#info.abort(new DOMException("Request timed out", "TimeoutError"));
    // The handler keeps running, but its slot is free again and its late
    // result is dropped.
    this.#releaseSlot();
    this.#endRace()?.resolve(undefined);
    // The fast path waiting for its body: 408 now (a late body is dropped).
    const reply = this.#reply;
    if (reply !== null) {
      this.#reply = null;
      reply(this.#finish(this.#timeoutResult(408)));
    }
  }

  #timeoutResult(status: 504 | 408 = 504): RunResult {
    this.#end();
    const { api, timeoutMs } = this.#ctx;
    return {
      response: status === 408
        // The rest of the body is not worth reading: the connection ends.
        ? errorResponse(
          408,
          `The request body did not arrive within ${timeoutMs} ms (handler.request_timeout of API "${api.name}")`,
          { request_id: this.#requestId },
          { connection: "close" },
        )
        : errorResponse(
          504,
          `API "${api.name}" did not answer within ${timeoutMs} ms (handler.request_timeout)`,
          { request_id: this.#requestId },
        ),
      bytesOut: null,
      hasId: false,
    };
  }

  #releaseSlot(): void {
    if (!this.#holdsSlot) return;
    this.#holdsSlot = false;
    this.#ctx.deps.slots.release();
  }

  /** The request (and its callback) is over: it leaves the in-flight count. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const { admission, slot } = this.#ctx.deps;
    admission.addLoad(slot, -1);
    admission.finish();
  }
}
