/**
 * The `req` argument of handler methods. The signal and the query are made
 * on first use: most handlers never touch them, and each costs allocations.
 *
 * @module
 */

import type { HandlerLogger, RequestInfo } from "../handler/handler_context.ts";
import { withRequest } from "./request_context.ts";
import { parseTraceparent } from "../edge/trace.ts";

/** Lazily built RequestInfo for one request. */
export class LazyRequestInfo implements RequestInfo {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly requestId: string;
  readonly #original: Request;
  readonly #extraSignal: AbortSignal | undefined;
  readonly #loggerFor: (requestId: string) => HandlerLogger;
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;
  #query: URLSearchParams | null = null;
  #logger: HandlerLogger | null = null;

  constructor(
    original: Request,
    requestId: string,
    loggerFor: (requestId: string) => HandlerLogger,
    extraSignal?: AbortSignal,
  ) {
    this.method = original.method;
    this.url = original.url;
    this.headers = original.headers;
    this.requestId = requestId;
    this.#original = original;
    this.#extraSignal = extraSignal;
    this.#loggerFor = loggerFor;
  }

  /** The trace id of the request's `traceparent`, or null when untraced. */
  get traceId(): string | null {
    return parseTraceparent(this.headers.get("traceparent"))?.traceId ?? null;
  }

  get query(): URLSearchParams {
    return this.#query ??= new URL(this.url).searchParams;
  }

  get logger(): HandlerLogger {
    return this.#logger ??= this.#loggerFor(this.requestId);
  }

  /** Aborts on client disconnect, on timeout, or with a chaining caller. */
  get signal(): AbortSignal {
    if (this.#controller) return this.#controller.signal;
    const controller = this.#controller = new AbortController();
    if (this.#abortReason !== undefined) {
      controller.abort(this.#abortReason);
      return controller.signal;
    }
    for (const source of [this.#original.signal, this.#extraSignal]) {
      if (!source) continue;
      if (source.aborted) controller.abort(source.reason);
      else {
        source.addEventListener(
          "abort",
          () => controller.abort(source.reason),
          {
            once: true,
          },
        );
      }
    }
    return controller.signal;
  }

  /** Aborts the signal (now, or when first read). */
  abort(reason: unknown): void {
    this.#abortReason = reason;
    this.#fire(reason);
  }

  /** Abort listeners run in the request's context, so their logs carry its id. */
  #fire(reason: unknown): void {
    const controller = this.#controller;
    if (controller && !controller.signal.aborted) {
      withRequest(
        { requestId: this.requestId },
        () => controller.abort(reason),
      );
    }
  }

  /** True once aborted by timeout or by the client. */
  get aborted(): boolean {
    return this.#abortReason !== undefined || this.#original.signal.aborted ||
      (this.#extraSignal?.aborted ?? false);
  }

  /** True when the client went away. */
  get clientGone(): boolean {
    return this.#original.signal.aborted;
  }
}
