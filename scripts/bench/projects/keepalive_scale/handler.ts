import type { HandlerContext } from "cortex";

/** Waits 200 ms (I/O, not CPU) and names the replica that answered. */
export class Handler {
  #replica: string;
  #ms: number;
  constructor(config: { sleep_ms?: number }, ctx: HandlerContext) {
    this.#replica = ctx.api.replicaId;
    this.#ms = config.sleep_ms ?? 200;
  }
  async handleGet() {
    await new Promise((r) => setTimeout(r, this.#ms));
    return { replica: this.#replica };
  }
}
