/**
 * The request a piece of handler code runs for, so log lines, console output
 * and chained calls carry its id without the handler passing it around.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

/** What is known about the current request. */
export interface RequestScope {
  requestId: string;
  /**
   * The `traceparent` of the span handler code runs under: the handler
   * span (tracing on), else the request's own valid `traceparent`.
   */
  traceparent?: string;
  /** The same as ids, for log lines (`trace_id`, `span_id`). */
  trace?: { traceId: string; spanId: string };
}

const storage = new AsyncLocalStorage<RequestScope>();
/** The scope of the synchronous handler call running now, if any. */
let syncScope: RequestScope | undefined;

/** Runs `fn` (and everything it awaits) inside the scope of a request. */
export function withRequest<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

const AsyncFunction = (async () => {}).constructor;
const AsyncGeneratorFunction = (async function* () {}).constructor;

/**
 * Calls a handler method in the request's scope. Async methods get an async
 * context that follows their awaits; a plain method needs only a variable
 * set while it runs, which costs far less per request.
 */
export function callInRequest<T>(
  scope: RequestScope,
  fn: () => T,
  method: unknown,
): T {
  if (isAsyncMethod(method)) return storage.run(scope, fn);
  const previous = syncScope;
  syncScope = scope;
  try {
    return fn();
  } finally {
    syncScope = previous;
  }
}

/**
 * {@linkcode callInRequest} for a handler method and its two arguments: no
 * closure per call (this is every request's path). `isAsync` is the
 * method's {@linkcode isAsyncMethod}, known once per method.
 */
export function callMethodInRequest<A, B>(
  scope: RequestScope,
  method: (a: A, b: B) => unknown,
  a: A,
  b: B,
  isAsync: boolean,
): unknown {
  if (isAsync) return storage.run(scope, method, a, b);
  const previous = syncScope;
  syncScope = scope;
  try {
    return method(a, b);
  } finally {
    syncScope = previous;
  }
}

/** True for an async function or async generator function. */
export function isAsyncMethod(method: unknown): boolean {
  return method instanceof AsyncFunction ||
    method instanceof AsyncGeneratorFunction;
}

/** The current request's `traceparent`, when inside a traced one. */
export function currentTraceparent(): string | undefined {
  return (storage.getStore() ?? syncScope)?.traceparent;
}

/** The ids of the current request's active span, when it is traced. */
export function currentTrace(): RequestScope["trace"] {
  return (storage.getStore() ?? syncScope)?.trace;
}

/** The current request's id, when inside one. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId ?? syncScope?.requestId;
}
