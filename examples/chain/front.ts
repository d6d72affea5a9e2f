import type { HandlerContext, RequestInfo } from "cortex";

export class Handler {
  #ctx: HandlerContext;

  constructor(_config: unknown, ctx: HandlerContext) {
    this.#ctx = ctx;
  }

  async handlePost(
    payload: { text?: string; delayMs?: number },
    req: RequestInfo,
  ) {
    // In-cluster URL: reached inside this server without DNS or a network hop.
    const res = await fetch("http://api-back:8888/", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload ?? {}),
      signal: req.signal,
    });
    const back = await res.json();
    this.#ctx.logger.info("Called back", { extra: { status: res.status } });
    return { front: this.#ctx.api.replicaId, status: res.status, back };
  }
}
