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
}

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` inside the scope of a request. */
export function withRequest<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The current request's id, when inside one. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
