/**
 * The WebSocket a handler's `handleWebSocket(socket, req)` receives: the
 * standard `WebSocket` interface (send, close, readyState, binaryType,
 * `on*` handlers, addEventListener) over the connection, plus what the
 * runtime enforces on every message: `handler.max_body_size` per message
 * (close 1009), and a listener that throws (or whose promise rejects)
 * closes the connection with 1011 instead of ending the replica as an
 * uncaught error would.
 *
 * @module
 */

/** Close codes the runtime uses (RFC 6455 section 7.4.1). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internalError: 1011,
} as const;

/** The connection under a {@linkcode HandlerSocket}. */
export interface SocketTransport {
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly protocol: string;
  readonly extensions: string;
  binaryType: BinaryType;
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: string,
    // Deno's and the DOM's Event types differ in name only here.
    // deno-lint-ignore no-explicit-any
    listener: (event: any) => void,
  ): void;
}

/** What a {@linkcode HandlerSocket} reports to the runtime. */
export interface HandlerSocketHooks {
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number;
  /** A listener threw: the socket is being closed with 1011. */
  onListenerError(error: unknown): void;
  /** Bytes of one message in (`"in"`) or out. */
  onBytes?(direction: "in" | "out", bytes: number): void;
  /** Runs a listener (e.g. in the request's logging scope). */
  run?(listener: () => unknown): unknown;
}

/** An event listener: a function or an object with `handleEvent`. */
type Listener =
  | ((event: Event) => unknown)
  | { handleEvent(event: Event): unknown };
const EVENTS = ["open", "message", "error", "close"] as const;
type EventName = typeof EVENTS[number];

const encoder = new TextEncoder();

/** UTF-8 length of a string, exact only when it could pass `max`. */
function textBytes(s: string, max: number): number {
  return s.length * 3 <= max ? s.length : encoder.encode(s).byteLength;
}

/** Bytes of a message as received or sent. */
export function messageBytes(data: unknown, max = Infinity): number {
  if (typeof data === "string") return textBytes(data, max);
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (data instanceof Blob) return data.size;
  return 0;
}

/** A standard-shaped WebSocket whose listeners cannot crash the replica. */
export class HandlerSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  /** The request URL of the upgrade. */
  readonly url: string;
  onopen: ((event: Event) => unknown) | null = null;
  onmessage: ((event: MessageEvent) => unknown) | null = null;
  onerror: ((event: Event) => unknown) | null = null;
  onclose: ((event: CloseEvent) => unknown) | null = null;

  readonly #transport: SocketTransport;
  readonly #hooks: HandlerSocketHooks;
  readonly #listeners = new Map<EventName, Listener[]>();
  #failed = false;

  constructor(
    url: string,
    transport: SocketTransport,
    hooks: HandlerSocketHooks,
  ) {
    this.url = url;
    this.#transport = transport;
    this.#hooks = hooks;
    for (const type of EVENTS) {
      transport.addEventListener(type, (event) => this.#receive(type, event));
    }
  }

  get readyState(): number {
    return this.#transport.readyState;
  }
  get bufferedAmount(): number {
    return this.#transport.bufferedAmount;
  }
  get protocol(): string {
    return this.#transport.protocol;
  }
  get extensions(): string {
    return this.#transport.extensions;
  }
  get binaryType(): BinaryType {
    return this.#transport.binaryType;
  }
  set binaryType(value: BinaryType) {
    this.#transport.binaryType = value;
  }

  /** Sends a text or binary message. */
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    this.#transport.send(data);
    this.#hooks.onBytes?.("out", messageBytes(data));
  }

  /** Closes the connection (default code 1000 when a reason is given). */
  close(code?: number, reason?: string): void {
    this.#transport.close(code, reason);
  }

  addEventListener(type: string, listener: Listener | null): void {
    if (listener === null || !isEvent(type)) return;
    const list = this.#listeners.get(type) ?? [];
    if (!list.includes(listener)) list.push(listener);
    this.#listeners.set(type, list);
  }

  removeEventListener(type: string, listener: Listener | null): void {
    if (listener === null || !isEvent(type)) return;
    const list = this.#listeners.get(type);
    const at = list?.indexOf(listener) ?? -1;
    if (at >= 0) list!.splice(at, 1);
  }

  /** Dispatches `event` to this socket's listeners. */
  dispatchEvent(event: Event): boolean {
    if (isEvent(event.type)) this.#deliver(event.type, event);
    return !event.defaultPrevented;
  }

  #receive(type: EventName, event: Event): void {
    if (type === "message") {
      const data = (event as MessageEvent).data;
      const max = this.#hooks.maxMessageBytes;
      const bytes = messageBytes(data, max);
      this.#hooks.onBytes?.("in", bytes);
      if (bytes > max) {
        this.#transport.close(
          CLOSE.tooBig,
          `Message is larger than ${max} bytes (handler.max_body_size)`,
        );
        return;
      }
      event = new MessageEvent("message", {
        data,
        origin: (event as MessageEvent).origin,
      });
    } else if (type === "close") {
      const e = event as CloseEvent;
      event = new CloseEvent("close", {
        code: e.code,
        reason: e.reason,
        wasClean: e.wasClean,
      });
    } else {
      event = new Event(type);
    }
    this.#deliver(type, event);
  }

  #deliver(type: EventName, event: Event): void {
    const handler = this[`on${type}`] as ((e: Event) => unknown) | null;
    const listeners = [...(this.#listeners.get(type) ?? [])];
    if (typeof handler === "function") listeners.unshift(handler);
    for (const listener of listeners) {
      try {
        const call = () =>
          typeof listener === "function"
            ? listener.call(this, event)
            : listener.handleEvent(event);
        const result = this.#hooks.run ? this.#hooks.run(call) : call();
        if (isThenable(result)) {
          result.then(undefined, (error) => this.fail(error));
        }
      } catch (error) {
        this.fail(error);
      }
    }
  }

  /**
   * The handler failed (a listener, or `handleWebSocket` itself): report it
   * once and close with 1011.
   */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#hooks.onListenerError(error);
    const close = () =>
      this.#transport.close(CLOSE.internalError, "Internal server error");
    // Not open yet (handleWebSocket threw at once): close once it opens.
    if (this.readyState === HandlerSocket.CONNECTING) {
      this.#transport.addEventListener("open", close);
    } else if (this.readyState === HandlerSocket.OPEN) close();
  }
}

function isEvent(type: string): type is EventName {
  return (EVENTS as readonly string[]).includes(type);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}
