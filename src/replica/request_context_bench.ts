/**
 * Cost budget (issue 17), handler call: the `req` argument and the call of
 * the handler method in the request's scope, as request_run.ts does it
 * (`deno task bench:stages`). The handler returns its payload (an echo).
 *
 * @module
 */

import type { HandlerLogger } from "../handler/handler_context.ts";
import { findMethod, type HandlerMethod } from "./handler_loader.ts";
import { callInRequest } from "./request_context.ts";
import { LazyRequestInfo } from "./request_info.ts";

class Echo {
  handlePost(payload: unknown): unknown {
    return payload;
  }
  async handlePut(payload: unknown): Promise<unknown> {
    return await payload;
  }
}

const handler = new Echo() as unknown as Record<string, unknown>;
const sync = findMethod(handler, "POST") as HandlerMethod;
const async_ = findMethod(handler, "PUT") as HandlerMethod;
const req = new Request("http://127.0.0.1:8080/echo", {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: "{}",
});
const payload = { name: "bench", label: 1 };
const ID = "0b3c5d6e-8f90-4a1b-9c2d-3e4f5a6b7c8d";
const logger = () => ({}) as HandlerLogger;

Deno.bench({
  name: "handler call: method(payload, req) directly (raw)",
  group: "handler call",
  baseline: true,
}, () => {
  sync(payload, req);
});

Deno.bench({
  name: "handler call: new LazyRequestInfo + callInRequest (sync method)",
  group: "handler call",
}, () => {
  const info = new LazyRequestInfo(req, ID, logger);
  callInRequest({ requestId: ID }, () => sync(payload, info), sync);
});

Deno.bench({
  name: "handler call: new LazyRequestInfo + callInRequest (async method)",
  group: "handler call",
}, async () => {
  const info = new LazyRequestInfo(req, ID, logger);
  await callInRequest({ requestId: ID }, () => async_(payload, info), async_);
});
