/**
 * The replica's side of `ctx.client`: a {@linkcode CortexClient} whose
 * transport posts each call to the main thread (`control.request`) and
 * builds the answer from `control.response` / `control.chunk`. The replica
 * holds no token and needs no network for it: the main thread runs the call
 * against the control API in-process under the calling API's policy
 * (src/server/control_proxy.ts).
 *
 * @module
 */

import { type ControlCall, CortexClient } from "../control/client.ts";
import { MAX_BODY_BYTES } from "../control/_http.ts";
import type {
  ControlFromReplica,
  ControlToReplica,
} from "../control/proxy_messages.ts";

interface Pending {
  resolve(res: Response): void;
  reject(error: Error): void;
  /** Set once the answer's body streams. */
  stream?: ReadableStreamDefaultController<Uint8Array>;
  cleanup(): void;
}

const encoder = new TextEncoder();

/** `ctx.client` over the replica's channel to the main thread. */
export class ProxiedControl {
  /** The client handed to the handler. */
  readonly client: CortexClient;
  readonly #post: (msg: ControlFromReplica) => void;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  /**
   * @param post Sends a message to the main thread.
   */
  constructor(post: (msg: ControlFromReplica) => void) {
    this.#post = post;
    this.client = new CortexClient({
      transport: (call) => this.#send(call),
      url: "cortex:runtime",
    });
  }

  #send(call: ControlCall): Promise<Response> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<Response>();
    const signal = call.signal;
    const onAbort = () => {
      const pending = this.#pending.get(id);
      if (!pending) return;
      this.#pending.delete(id);
      pending.cleanup();
      this.#post({ type: "control.cancel", id });
      const reason = signal?.reason ??
        new DOMException("The control call was aborted", "AbortError");
      pending.reject(reason);
      try {
        pending.stream?.error(reason);
      } catch {
        // Already closed.
      }
    };
    if (signal?.aborted) {
      return Promise.reject(
        signal.reason ?? new DOMException("Aborted", "AbortError"),
      );
    }
    // Answered here as the serving process would (400), without sending a
    // message larger than it takes (src/wire/replica_message_check.ts).
    if (call.body !== null && call.body.length > MAX_BODY_BYTES) {
      const error = `Control call body is over ${MAX_BODY_BYTES} bytes`;
      return Promise.resolve(
        new Response(JSON.stringify({ error }), {
          status: 400,
          headers: { "content-type": "application/json" },
        }),
      );
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#pending.set(id, {
      resolve,
      reject,
      cleanup: () => signal?.removeEventListener("abort", onAbort),
    });
    this.#post({
      type: "control.request",
      id,
      method: call.method,
      path: call.path,
      body: call.body,
    });
    return promise;
  }

  /** Delivers a `control.*` message from the main thread. */
  onMessage(msg: ControlToReplica): void {
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    if (msg.type === "control.response") {
      if (msg.body !== null) {
        this.#pending.delete(msg.id);
        pending.cleanup();
        pending.resolve(
          new Response(msg.body, {
            status: msg.status,
            headers: { "content-type": "application/json" },
          }),
        );
        return;
      }
      const id = msg.id;
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          pending.stream = controller;
        },
        cancel: () => {
          if (!this.#pending.delete(id)) return;
          pending.cleanup();
          this.#post({ type: "control.cancel", id });
        },
      });
      pending.resolve(
        new Response(body, {
          status: msg.status,
          headers: { "content-type": "text/event-stream" },
        }),
      );
      return;
    }
    const stream = pending.stream;
    if (!stream) return;
    if (msg.chunk === null) {
      this.#pending.delete(msg.id);
      pending.cleanup();
      stream.close();
    } else {
      stream.enqueue(encoder.encode(msg.chunk));
    }
  }
}
