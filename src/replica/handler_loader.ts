/**
 * Finds the user's Handler class in its module and the method for each HTTP
 * verb (camelCase or the seed's snake_case names).
 *
 * @module
 */

import { WEBSOCKET_METHODS } from "../websocket/upgrade.ts";

/** HTTP methods a handler can implement. */
export const HTTP_METHODS = ["POST", "GET", "PUT", "PATCH", "DELETE"] as const;

/** A handler instance: methods looked up by name. */
export type HandlerInstance = Record<string, unknown>;

/** A handler method bound to its instance. */
export type HandlerMethod = (payload: unknown, req: unknown) => unknown;

/** Raised when the module does not export a usable Handler class. */
export class HandlerLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HandlerLoadError";
  }
}

/** Returns the Handler class of `mod` (`export class Handler` or default). */
export function findHandlerClass(
  mod: Record<string, unknown>,
  path: string,
): new (config: unknown, ctx: unknown) => HandlerInstance {
  const candidate = mod.Handler ?? mod.default;
  if (typeof candidate !== "function") {
    throw new HandlerLoadError(
      `Cannot load handler "${path}": it must export a class named "Handler" or a default class`,
    );
  }
  return candidate as new (config: unknown, ctx: unknown) => HandlerInstance;
}

/** `handlePost` and `handle_post` for "POST". */
export function methodNames(verb: string): [string, string] {
  const lower = verb.toLowerCase();
  return [
    `handle${lower[0]!.toUpperCase()}${lower.slice(1)}`,
    `handle_${lower}`,
  ];
}

/** Looks up the method implementing an HTTP verb, bound to the instance. */
export function findMethod(
  instance: HandlerInstance,
  verb: string,
): HandlerMethod | null {
  for (const name of methodNames(verb)) {
    const fn = instance[name];
    if (typeof fn === "function") {
      return (fn as HandlerMethod).bind(instance);
    }
  }
  return null;
}

/**
 * The method serving HEAD: `handleHead` when the handler has one, else
 * `handleGet` (HEAD is GET without the body; the pipeline drops the body).
 */
export function findHeadMethod(
  instance: HandlerInstance,
): HandlerMethod | null {
  return findMethod(instance, "HEAD") ?? findMethod(instance, "GET");
}

/** The verbs the instance implements, for the `Allow` header (HEAD with GET). */
export function allowedMethods(instance: HandlerInstance): string[] {
  const verbs: string[] = HTTP_METHODS.filter((verb) =>
    findMethod(instance, verb) !== null
  );
  if (findHeadMethod(instance) !== null) verbs.push("HEAD");
  return verbs;
}

/** A handler's WebSocket method: `(socket, req)`, bound to the instance. */
export type WebSocketMethod = (socket: unknown, req: unknown) => unknown;

/** `handleWebSocket` or `handle_web_socket`, bound, or null. */
export function findWebSocketMethod(
  instance: HandlerInstance,
): WebSocketMethod | null {
  for (const name of WEBSOCKET_METHODS) {
    const fn = instance[name];
    if (typeof fn === "function") {
      return (fn as WebSocketMethod).bind(instance);
    }
  }
  return null;
}
