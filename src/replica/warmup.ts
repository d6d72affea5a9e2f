/**
 * `handler.warmup`: calls of the handler through its own request pipeline
 * before the replica says it is ready, so the first client request does not
 * pay for lazy initialisation (JIT, a model's first run).
 *
 * @module
 */

import type { ApiConfig } from "../config/resolved_config.ts";

/**
 * `count` calls of the handler's POST (with the payload) or GET through the
 * pipeline.
 *
 * @throws {Error} When a call fails, naming its status and body.
 */
export async function warmup(
  api: ApiConfig,
  serve: (
    req: Request,
    opts: { requestId: string },
  ) => Response | Promise<Response>,
  methods: string[],
): Promise<void> {
  const { payload, count } = api.handler.warmup!;
  const method = methods.includes("POST") ? "POST" : "GET";
  if (!methods.includes(method)) {
    throw new Error(
      "handler.warmup needs a handlePost or handleGet method to call",
    );
  }
  const url = `http://warmup${api.networking.endpoint}`;
  for (let i = 1; i <= count; i++) {
    const init: RequestInit = { method };
    if (method === "POST" && payload !== null) {
      const text = typeof payload === "string";
      init.body = text ? payload : JSON.stringify(payload);
      init.headers = {
        "content-type": text ? "text/plain" : "application/json",
      };
    }
    const res = await serve(new Request(url, init), {
      requestId: `warmup-${i}`,
    });
    if (res.status >= 400) {
      const body = (await res.text()).slice(0, 500);
      throw new Error(
        `handler.warmup call ${i} of ${count} (${method} ${api.networking.endpoint}) failed with status ${res.status}: ${body}`,
      );
    }
    await res.body?.cancel();
  }
}
