import type { HandlerContext, RequestInfo } from "cortex";

interface Config {
  greeting?: string;
}

export class Handler {
  #greeting: string;
  #labels: string[];
  #ctx: HandlerContext;

  constructor(config: Config, ctx: HandlerContext) {
    this.#greeting = config.greeting ?? "Hello";
    // Relative paths resolve against the project directory.
    this.#labels = JSON.parse(Deno.readTextFileSync("values.json")).labels;
    this.#ctx = ctx;
    ctx.logger.info("Handler ready", {
      extra: { classes: this.#labels.length },
    });
  }

  handlePost(payload: { name?: string; label?: number }, req: RequestInfo) {
    const name = payload?.name ?? "world";
    req.logger.info("Greeting", { extra: { name } });
    return {
      message: `${this.#greeting}, ${name}!`,
      label: this.#labels[payload?.label ?? 0] ?? null,
      replica: this.#ctx.api.replicaId,
    };
  }

  handleGet() {
    return { labels: this.#labels };
  }
}
