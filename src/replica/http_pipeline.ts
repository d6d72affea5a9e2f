/**
 * One HTTP request through a replica: admission, queueing for a slot, body
 * parsing, the handler call with its timeout, encoding, callbacks, access log.
 *
 * @module
 */

import type { ApiConfig } from "../config/types.ts";
import { HttpError } from "../errors/http_error.ts";
import type { HandlerLogger } from "../handler/types.ts";
import { parsePayload } from "../http/payload.ts";
import {
  type Callback,
  encodeResult,
  errorResponse,
} from "../http/response.ts";
import type { RequestStats } from "../metrics/request_stats.ts";
import type { Admission } from "./admission.ts";
import { declaredTooLarge, limitBody } from "./body_limit.ts";
import {
  allowedMethods,
  findMethod,
  type HandlerInstance,
  HTTP_METHODS,
} from "./handler_loader.ts";
import { Deadlines } from "./deadlines.ts";
import { LazyRequestInfo } from "./request_info.ts";
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

/** The path of a URL string without parsing the whole URL. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/** Builds the replica's request function. */
export function createHttpPipeline(deps: PipelineDeps) {
  const { api, admission, slot, slots } = deps;
  const timeoutMs = api.handler.requestTimeoutMs;
  const maxBody = api.handler.maxBodyBytes;
  const deadlines = new Deadlines(Math.min(100, timeoutMs / 10));
  const methods = new Map<string, ReturnType<typeof findMethod>>(
    HTTP_METHODS.map((verb) => [verb, findMethod(deps.handler, verb)]),
  );
  const allow = allowedMethods(deps.handler).join(", ");
  const tooLarge = () =>
    errorResponse(
      413,
      `Request body is larger than the limit of ${maxBody} bytes (handler.max_body_size)`,
    );

  return async function handle(
    original: Request,
    opts: CallOptions = {},
  ): Promise<Response> {
    const started = performance.now();
    const requestId = opts.requestId ?? requestIdOf(original);
    /** Logs and counts the response; `bytesOut` is known for encoded results. */
    const finish = (
      res: Response,
      bytesOut: number | null = null,
      hasId = false,
    ): Response => {
      const latency = performance.now() - started;
      deps.stats.observe(res.status, latency / 1000);
      deps.access({
        method: original.method,
        path: pathOf(original.url),
        status: res.status,
        latencyMs: Math.round(latency * 100) / 100,
        requestId,
        bytesIn: Number(original.headers.get("content-length") ?? 0),
        bytesOut: bytesOut ?? Number(res.headers.get("content-length") ?? 0),
      });
      return hasId ? res : withRequestId(res, requestId);
    };

    const method = methods.get(original.method) ??
      findMethod(deps.handler, original.method);
    if (!method) {
      return finish(errorResponse(
        405,
        `Method "${original.method}" is not implemented by API "${api.name}"`,
        {},
        { allow },
      ));
    }
    if (declaredTooLarge(original, maxBody)) return finish(tooLarge());
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
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      admission.addLoad(slot, -1);
      admission.finish();
    };
    let requestLogger: ReturnType<PipelineDeps["loggerFor"]> | null = null;
    const logger = () => requestLogger ??= deps.loggerFor(requestId);
    const info = new LazyRequestInfo(original, requestId, logger, opts.signal);
    let holdsSlot = false;
    const releaseSlot = () => {
      if (holdsSlot) slots.release();
      holdsSlot = false;
    };
    let timedOut = false;
    let callback: Callback | null = null;
    let bytesOut: number | null = null;
    let hasId = false;
    const outcome = Promise.withResolvers<Response>();
    const deadline = deadlines.add(timeoutMs, () => {
      timedOut = true;
      info.abort(new DOMException("Request timed out", "TimeoutError"));
      outcome.resolve(errorResponse(
        504,
        `API "${api.name}" did not answer within ${timeoutMs} ms (handler.request_timeout)`,
        { request_id: requestId },
      ));
    });

    const work = (async (): Promise<Response> => {
      await slots.acquire();
      holdsSlot = true;
      try {
        if (timedOut) return errorResponse(504, "Request timed out");
        const { request, exceeded } = limitBody(original, maxBody);
        let payload: unknown;
        try {
          payload = await parsePayload(request);
        } catch (error) {
          if (exceeded()) return tooLarge();
          throw error;
        }
        const encoded = encodeResult(await method(payload, info), requestId);
        callback = encoded.callback;
        bytesOut = encoded.bytesOut;
        hasId = encoded.bytesOut !== null;
        return encoded.response;
      } catch (error) {
        if (error instanceof HttpError) {
          return errorResponse(error.status, error.message, {}, error.headers);
        }
        if (timedOut) return errorResponse(504, "Request timed out");
        if (info.clientGone) {
          // The client went away; nobody reads this response.
          return errorResponse(499, "Client closed the request");
        }
        logger().exception(`Handler of API "${api.name}" threw`, error);
        return errorResponse(500, "Internal server error", {
          request_id: requestId,
        });
      } finally {
        releaseSlot();
      }
    })();
    work.then(outcome.resolve);

    let res = await outcome.promise;
    deadlines.cancel(deadline);
    if (timedOut) {
      // The handler was told to stop; its slot is free again and a late
      // result is dropped.
      releaseSlot();
      done();
      deps.track(work);
      return finish(res);
    }
    const cb = callback as Callback | null;
    if (cb === null) {
      done();
      return finish(res, bytesOut, hasId);
    }
    const callbackDone = Promise.withResolvers<void>();
    deps.track(callbackDone.promise.finally(done));
    res = afterBody(res, () => {
      Promise.resolve()
        .then(() => cb())
        .catch((error) =>
          logger().exception(`Callback of API "${api.name}" threw`, error)
        )
        .finally(() => callbackDone.resolve());
    });
    return finish(res, bytesOut);
  };
}
