/**
 * What every process that upgrades WebSockets agrees on: which requests ask
 * for one, which handler methods take them, and the idle ping.
 *
 * @module
 */

/** Seconds without traffic before Deno pings a client (then closes it if no pong). */
export const PING_AFTER_IDLE_S = 30;

/** The handler method names that take WebSockets. */
export const WEBSOCKET_METHODS = ["handleWebSocket", "handle_web_socket"];

/** True for a request asking to become a WebSocket (`GET`, `upgrade: websocket`). */
export function isWebSocketUpgrade(req: Request): boolean {
  return req.method === "GET" &&
    /(^|,)\s*websocket\s*(,|$)/i.test(req.headers.get("upgrade") ?? "");
}

/** True when a handler's method names (a replica's `ready`) take WebSockets. */
export function takesWebSockets(methods: readonly string[]): boolean {
  return methods.some((m) => WEBSOCKET_METHODS.includes(m));
}
