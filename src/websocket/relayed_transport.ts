/**
 * A WebSocket whose connection belongs to the serving process (it routes
 * when the server has several HTTP APIs): frames cross the replica's channel
 * as messages (`ws.*`). It behaves as Deno's server-side WebSocket does
 * (readyState, binaryType "arraybuffer" by default, open/message/close
 * events), so under a {@linkcode HandlerSocket} a handler cannot tell it
 * from a connection the replica upgraded itself.
 *
 * @module
 */

import type { SocketTransport } from "./handler_socket.ts";

/** What a relayed socket sends to the serving process. */
export interface RelayOut {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

const encoder = new TextEncoder();

/** The replica's end of a relayed WebSocket. */
export class RelayedTransport extends EventTarget implements SocketTransport {
  readyState: number = WebSocket.CONNECTING;
  readonly bufferedAmount = 0;
  readonly protocol = "";
  readonly extensions = "";
  binaryType: BinaryType = "arraybuffer";
  readonly #out: RelayOut;
  /** close() before the client's side opened: sent once it does. */
  #closeWhenOpen: [number | undefined, string | undefined] | null = null;

  constructor(out: RelayOut) {
    super();
    this.#out = out;
  }

  /** Sends a text or binary message to the client. */
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (this.readyState === WebSocket.CONNECTING) {
      throw new DOMException("WebSocket is not open", "InvalidStateError");
    }
    if (this.readyState !== WebSocket.OPEN) return;
    if (typeof data === "string") return this.#out.send(data);
    if (data instanceof Blob) {
      void data.arrayBuffer().then((b) => this.#out.send(new Uint8Array(b)));
      return;
    }
    if (ArrayBuffer.isView(data)) {
      return this.#out.send(
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
      );
    }
    this.#out.send(new Uint8Array(data as ArrayBuffer).slice());
  }

  /** Closes the connection; the close event follows the client's answer. */
  close(code?: number, reason?: string): void {
    if (
      code !== undefined && code !== 1000 && (code < 1000 || code > 4999)
    ) {
      throw new DOMException(
        `Invalid close code ${code}`,
        "InvalidAccessError",
      );
    }
    if (reason !== undefined && encoder.encode(reason).byteLength > 123) {
      throw new DOMException("Close reason is over 123 bytes", "SyntaxError");
    }
    if (this.readyState === WebSocket.CONNECTING) {
      this.#closeWhenOpen = [code, reason];
      this.readyState = WebSocket.CLOSING;
      return;
    }
    if (this.readyState !== WebSocket.OPEN) return;
    this.readyState = WebSocket.CLOSING;
    this.#out.close(code, reason);
  }

  /** The client's side is open. */
  opened(): void {
    if (this.#closeWhenOpen) {
      const [code, reason] = this.#closeWhenOpen;
      this.#closeWhenOpen = null;
      this.#out.close(code, reason);
      return;
    }
    if (this.readyState !== WebSocket.CONNECTING) return;
    this.readyState = WebSocket.OPEN;
    this.dispatchEvent(new Event("open"));
  }

  /** A message from the client. */
  message(data: string | Uint8Array): void {
    if (this.readyState !== WebSocket.OPEN) return;
    const payload = typeof data === "string"
      ? data
      : this.binaryType === "blob"
      ? new Blob([data as Uint8Array<ArrayBuffer>])
      : (data.buffer as ArrayBuffer).slice(
        data.byteOffset,
        data.byteOffset + data.byteLength,
      );
    this.dispatchEvent(new MessageEvent("message", { data: payload }));
  }

  /** The connection closed (the serving process's last word on it). */
  closed(code: number, reason: string): void {
    if (this.readyState === WebSocket.CLOSED) return;
    this.readyState = WebSocket.CLOSED;
    this.dispatchEvent(
      new CloseEvent("close", { code, reason, wasClean: code !== 1006 }),
    );
  }
}
