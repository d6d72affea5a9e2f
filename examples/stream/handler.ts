/**
 * Streaming example: `GET /stream?prompt=...` streams a reply word by word
 * (server-sent events with `Accept: text/event-stream`), and a WebSocket on
 * `/stream` is a tiny chat room of this replica: every message is sent to
 * every connected client.
 */

import type { HandlerContext, RequestInfo } from "cortex";

export class Handler {
  #logger: HandlerContext["logger"];
  #room = new Set<WebSocket>();

  constructor(_config: unknown, ctx: HandlerContext) {
    this.#logger = ctx.logger;
  }

  /** One event per word, as a language model would produce tokens. */
  async *handleGet(_payload: unknown, req: RequestInfo) {
    const prompt = new URL(req.url).searchParams.get("prompt") ?? "streams";
    const words = `You asked about ${prompt}. Here is the answer, word by word.`
      .split(" ");
    for (const [i, word] of words.entries()) {
      await new Promise((r) => setTimeout(r, 50));
      yield { event: "token", id: String(i), data: word };
    }
    yield { event: "done", data: "" };
  }

  /** A chat room: what one client sends, every client receives. */
  handleWebSocket(socket: WebSocket, req: RequestInfo) {
    const name = new URL(req.url).searchParams.get("name") ?? "someone";
    socket.onopen = () => {
      this.#room.add(socket);
      this.#broadcast(`${name} joined`);
    };
    socket.onmessage = (event) => {
      this.#broadcast(`${name}: ${String(event.data)}`);
    };
    socket.onclose = () => {
      this.#room.delete(socket);
      this.#broadcast(`${name} left`);
      this.#logger.info("Left the chat", { extra: { name } });
    };
  }

  #broadcast(text: string) {
    for (const peer of this.#room) {
      if (peer.readyState === WebSocket.OPEN) peer.send(text);
    }
  }
}
