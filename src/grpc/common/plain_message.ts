/**
 * Turns a decoded `@bufbuild/protobuf` message into the plain object a
 * handler method receives, the same whichever door the call came in by (the
 * gRPC port or Connect/gRPC-Web on the HTTP port).
 *
 * @module
 */

/**
 * Copies default values kept on a prototype to own properties, deeply.
 * Messages with explicit presence (proto2, editions) keep their defaults on
 * a prototype, which structured cloning drops.
 *
 * @param value a decoded message (or any field value)
 * @returns the same value with every message a plain object
 */
export function toPlain(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = toPlain(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> =
    Object.getPrototypeOf(obj) === Object.prototype ? obj : {};
  for (const key in obj) out[key] = toPlain(obj[key]);
  return out;
}
