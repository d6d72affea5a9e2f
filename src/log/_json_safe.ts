/**
 * Conversion of arbitrary values into something `JSON.stringify` accepts.
 *
 * @module
 */

/**
 * Returns a copy of `value` that `JSON.stringify` can serialise without
 * throwing: bigints become strings, circular references become
 * `"[Circular]"`, errors become `{ name, message, stack }`, maps become
 * objects and sets become arrays. A value shared by two branches is kept in
 * both (only a reference to an ancestor counts as circular).
 *
 * @param value Any value.
 * @returns A JSON-safe value (`undefined` stays `undefined`).
 */
export function toJsonSafe(value: unknown): unknown {
  return convert(value, []);
}

/**
 * `JSON.stringify(toJsonSafe(value))`, never throws.
 *
 * @param value Any value.
 * @returns The JSON text, or `undefined` for values JSON omits (functions,
 * symbols, undefined).
 */
export function safeStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(convert(value, []));
  } catch (err) {
    // A throwing getter or toJSON: keep the line, say what failed.
    return JSON.stringify(`[Unserializable: ${describe(err)}]`);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : typeof err;
}

function convert(value: unknown, ancestors: object[]): unknown {
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (ancestors.includes(value)) return "[Circular]";
  ancestors.push(value);
  try {
    return convertObject(value, ancestors);
  } finally {
    ancestors.pop();
  }
}

function convertObject(value: object, ancestors: object[]): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = {
      name: value.name,
      message: value.message,
      stack: value.stack,
    };
    if (value.cause !== undefined) out.cause = convert(value.cause, ancestors);
    return out;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    return convert(toJSON.call(value), ancestors);
  }
  if (Array.isArray(value)) {
    return value.map((item) => convert(item, ancestors) ?? null);
  }
  if (value instanceof Set) {
    return [...value].map((item) => convert(item, ancestors) ?? null);
  }
  const entries = value instanceof Map
    ? [...value].map(([k, v]) => [String(k), v] as const)
    : Object.entries(value);
  // A null-prototype object so that a "__proto__" key stays a plain key.
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, v] of entries) {
    const converted = convert(v, ancestors);
    if (converted !== undefined) out[k] = converted;
  }
  return out;
}
