import { HttpError } from "cortex";
import type { HandlerContext, RequestInfo } from "cortex";

interface Config {
  prefix?: string;
}

export class Handler {
  #prefix: string;
  #ctx: HandlerContext;

  constructor(config: Config, ctx: HandlerContext) {
    this.#prefix = config.prefix ?? "";
    this.#ctx = ctx;
  }

  /**
   * The runtime decodes text/plain with the charset of the Content-Type
   * (UTF-8 when absent), so the payload is already a string.
   */
  handlePost(payload: unknown, req: RequestInfo): string {
    if (typeof payload !== "string") {
      throw new HttpError(415, "Send a text/plain body");
    }
    const charset = /charset=([^;]+)/i.exec(
      req.headers.get("content-type") ?? "",
    )?.[1];
    this.#ctx.logger.info("Echoing text", {
      extra: { characters: [...payload].length, charset: charset ?? "utf-8" },
    });
    return `${this.#prefix}${payload.toUpperCase()} (${
      [...payload].length
    } characters)`;
  }
}
