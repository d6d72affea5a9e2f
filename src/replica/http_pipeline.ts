/**
 * One HTTP request through a replica: admission, queueing for a slot, body
 * parsing, the handler call with its timeout, encoding, callbacks, access log.
 *
 * @module
 */

import type { ApiConfig } from "../config/types.ts";
import { HttpError } from "../errors/http_error.ts";
import type { HandlerLogger, RequestInfo } from "../handler/types.ts";
import { parsePayload } from "../http/payload.ts";
import { type Callback, encodeResult, errorResponse } from "../http/response.ts";
import type { RequestStats } from "../metrics/request_stats.ts";
import type { Admission } from "./admission.ts";
import { declaredTooLarge, limitBody } from "./body_limit.ts";
import {
  allowedMethods,
  findMethod,
  type HandlerInstance,
} from "./handler_loader.ts";
import type { Slots } from "./slots.ts";

/** What the pipeline needs from its replica. */
export interface PipelineDeps {
  api: ApiConfig;
  handler: HandlerInstance;
  admission: Admission;
  slot: number;
  slots: Slots;
  stats: RequestStats;
  /** A handler-facing logger labelled with this request id. */
  loggerFor(requestId: string): HandlerLogger & {
    exception(message: string, error: unknown): void;
  };
  /** Writes the access line, unless access logs are off. */
  access(line: AccessEntry): void;
  /** Keeps the replica from draining until the promise settles. */
  track(work: Promise<unknown>): void;
}

/** One access log entry. */
export interface AccessEntry {
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  requestId: string;
  bytesIn: number;
  bytesOut: number;
}

/** Options of a single call into the pipeline. */
export interface CallOptions {
  /** Already admitted (forwarded by the main thread). */
  admitted?: boolean;
  /** The request id, when the caller already chose one. */
  requestId?: string;
  /** Extra signal that aborts the request (a chaining caller's). */
  signal?: AbortSignal;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Takes a sane incoming x-request-id (chained calls) or makes a new one. */
export function requestIdOf(req: Request): string {
  const given = req.headers.get("x-request-id");
  return given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

function withRequestId(res: Response, requestId: string): Response {
  try {
    res.headers.set("x-request-id", requestId);
    return res;
  } catch {
    // Immutable headers (a fetched Response returned as is): copy them.
    const headers = new Headers(res.headers);
    headers.set("x-request-id", requestId);
    return new Response(res.body, {
      status: res.status,
      statusText: res.statusText,
      headers,
    });
  }
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

/** Builds the replica's request function. */
export function createHttpPipeline(deps: PipelineDeps) {
  const { api, admission, slot, slots } = deps;
  const timeoutMs = api.handler.requestTimeoutMs;
  const maxBody = api.handler.maxBodyBytes;

  return async function handle(
    original: Request,
    opts: CallOptions = {},
  ): Promise<Response> {
    const started = performance.now();
    const requestId = opts.requestId ?? requestIdOf(original);
    const url = new URL(original.url);
    const finish = (res: Response): Response => {
      const latency = performance.now() - started;
      deps.stats.observe(res.status, latency / 1000);
      deps.access({
        method: original.method,
        path: url.pathname,
        status: res.status,
        latencyMs: Math.round(latency * 100) / 100,
        requestId,
        bytesIn: Number(original.headers.get("content-length") ?? 0),
        bytesOut: Number(res.headers.get("content-length") ?? 0),
      });
      return withRequestId(res, requestId);
    };

    const method = findMethod(deps.handler, original.method);
    if (method === null) {
      const allow = allowedMethods(deps.handler).join(", ");
      return finish(errorResponse(
        405,
        `Method "${original.method}" is not implemented by API "${api.name}"`,
        {},
        { allow },
      ));
    }
    if (declaredTooLarge(original, maxBody)) {
      return finish(errorResponse(
        413,
        `Request body is larger than the limit of ${maxBody} bytes (handler.max_body_size)`,
      ));
    }
    if (!opts.admitted && !admission.tryAdmit()) {
      return finish(errorResponse(
        503,
        `API "${api.name}" is at its concurrency and queue limit`,
        {},
        { "retry-after": "1" },
      ));
    }

    // From here the request is admitted: in-flight until it and its callback
    // end. The main thread counts forwarded requests on this slot itself.
    if (!opts.admitted) admission.addLoad(slot, 1);
    let callback: Callback | null = null;
    const abort = new AbortController();
    const signals = [original.signal, abort.signal];
    if (opts.signal) signals.push(opts.signal);
    const signal = AbortSignal.any(signals);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<Response>((resolve) => {
      timer = setTimeout(() => {
        abort.abort(new DOMException("Request timed out", "TimeoutError"));
        resolve(errorResponse(
          504,
          `API "${api.name}" did not answer within ${timeoutMs} ms (handler.request_timeout)`,
          { request_id: requestId },
        ));
      }, timeoutMs);
    });
    const logger = deps.loggerFor(requestId);
    let holdsSlot = false;
    const releaseSlot = () => {
      if (holdsSlot) slots.release();
      holdsSlot = false;
    };
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      admission.addLoad(slot, -1);
      admission.finish();
    };
    const work = (async (): Promise<Response> => {
      await slots.acquire();
      holdsSlot = !finished;
      if (finished) slots.release();
      try {
        if (signal.aborted) throw signal.reason;
        const { request, exceeded } = limitBody(original, maxBody);
        let payload: unknown;
        try {
          payload = await parsePayload(request);
        } catch (error) {
          if (exceeded()) {
            throw new HttpError(
              413,
              `Request body is larger than the limit of ${maxBody} bytes (handler.max_body_size)`,
            );
          }
          throw error;
        }
        const info: RequestInfo = {
          method: original.method,
          url: original.url,
          query: url.searchParams,
          headers: original.headers,
          requestId,
          signal,
          logger,
        };
        const encoded = encodeResult(await method(payload, info));
        callback = encoded.callback;
        return encoded.response;
      } catch (error) {
        if (error instanceof HttpError) {
          return errorResponse(error.status, error.message, {}, error.headers);
        }
        if (abort.signal.aborted) {
          return errorResponse(504, "Request timed out"); // already answered
        }
        if (signal.aborted && original.signal.aborted) {
          // The client went away; nobody reads this response.
          return errorResponse(499, "Client closed the request");
        }
        logger.exception(`Handler of API "${api.name}" threw`, error);
        return errorResponse(500, "Internal server error", {
          request_id: requestId,
        });
      } finally {
        releaseSlot();
      }
    })();

    let res = await Promise.race([work, timedOut]);
    clearTimeout(timer);
    const cb = callback as Callback | null;
    if (res.status === 504 && abort.signal.aborted) {
      // Timed out: the handler was told to stop; its slot is free again and a
      // late result is dropped.
      releaseSlot();
      done();
      deps.track(work.catch(() => {}));
      return finish(res);
    }
    if (cb === null) {
      done();
      return finish(res);
    }
    const callbackDone = Promise.withResolvers<void>();
    deps.track(callbackDone.promise.finally(done));
    res = afterBody(res, () => {
      Promise.resolve()
        .then(() => cb())
        .catch((error) =>
          logger.exception(`Callback of API "${api.name}" threw`, error)
        )
        .finally(() => callbackDone.resolve());
    });
    return finish(res);
  };
}
