/**
 * Checks that a value a handler returned fits a message type, naming the
 * first field that does not. `@bufbuild/protobuf`'s `create` and `toBinary`
 * accept many wrong values silently (a number for a string field, unknown
 * keys), so the check runs before them.
 *
 * @module
 */

import {
  type DescField,
  type DescMessage,
  ScalarType,
} from "@bufbuild/protobuf";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";

/** A value that does not fit its message type; `field` is a dotted path. */
export class InitError extends TypeError {
  /** @param field dotted path of the field, "" for the message itself */
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = "InitError";
  }
}

/**
 * Throws an {@linkcode InitError} unless `value` is a valid initialiser (or
 * message) for `desc`, as `create(desc, value)` understands it.
 *
 * @param desc the message type
 * @param value what the handler returned
 * @param path dotted path of `value`, "" at the top
 */
export function checkMessageInit(
  desc: DescMessage,
  value: unknown,
  path = "",
): void {
  if (!isPlainObject(value)) {
    fail(path, value, `a ${desc.typeName} message object`);
  }
  const known = new Set(["$typeName", "$unknown"]);
  for (const member of desc.members) known.add(member.localName);
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      throw new InitError(
        join(path, key),
        `unknown field "${join(path, key)}" for message ${desc.typeName}`,
      );
    }
  }
  if (value.$typeName !== undefined && value.$typeName !== desc.typeName) {
    fail(path, value, `a ${desc.typeName} message, not ${value.$typeName}`);
  }
  for (const member of desc.members) {
    const v = value[member.localName];
    const p = join(path, member.localName);
    if (v === undefined || v === null) continue;
    if (member.kind === "field") {
      checkField(member, v, p);
      continue;
    }
    if (!isPlainObject(v)) fail(p, v, "a oneof object { case, value }");
    if (v.case === undefined) continue;
    const field = member.fields.find((f) => f.localName === v.case);
    if (field === undefined) {
      const cases = member.fields.map((f) => `"${f.localName}"`).join(", ");
      fail(`${p}.case`, v.case, `one of ${cases}`);
    }
    checkSingular(field, v.value, join(p, field.localName));
  }
}

function checkField(field: DescField, v: unknown, path: string): void {
  switch (field.fieldKind) {
    case "list":
      if (!Array.isArray(v)) fail(path, v, "an array");
      v.forEach((item, i) => {
        if (field.listKind === "scalar") {
          checkScalar(field.scalar, item, `${path}[${i}]`);
        } else if (field.listKind === "enum") {
          checkEnum(item, `${path}[${i}]`);
        } else checkMessageInit(field.message, item, `${path}[${i}]`);
      });
      return;
    case "map":
      if (!isPlainObject(v)) fail(path, v, "an object (map)");
      for (const [key, item] of Object.entries(v)) {
        const p = `${path}["${key}"]`;
        if (field.mapKind === "scalar") checkScalar(field.scalar, item, p);
        else if (field.mapKind === "enum") checkEnum(item, p);
        else checkMessageInit(field.message, item, p);
      }
      return;
    default:
      checkSingular(field, v, path);
  }
}

function checkSingular(field: DescField, v: unknown, path: string): void {
  if (field.fieldKind === "scalar") return checkScalar(field.scalar, v, path);
  if (field.fieldKind === "enum") return checkEnum(v, path);
  if (field.fieldKind !== "message") return;
  // Mirrors create(): wrappers are unboxed in singular non-oneof fields, and
  // Struct is a plain JSON object in any field except inside Value.
  if (!field.oneof && isWrapperDesc(field.message)) {
    return checkScalar(field.message.fields[0]!.scalar!, v, path);
  }
  if (
    field.message.typeName === "google.protobuf.Struct" &&
    field.parent.typeName !== "google.protobuf.Value"
  ) {
    if (!isPlainObject(v)) fail(path, v, "a JSON object");
    return;
  }
  checkMessageInit(field.message, v, path);
}

function checkEnum(v: unknown, path: string): void {
  if (!isInt(v, -(2 ** 31), 2 ** 31 - 1)) fail(path, v, "an enum number");
}

const INT32 = [ScalarType.INT32, ScalarType.SINT32, ScalarType.SFIXED32];
const UINT32 = [ScalarType.UINT32, ScalarType.FIXED32];
const INT64 = [ScalarType.INT64, ScalarType.SINT64, ScalarType.SFIXED64];
const UINT64 = [ScalarType.UINT64, ScalarType.FIXED64];

function checkScalar(type: ScalarType, v: unknown, path: string): void {
  const name = ScalarType[type].toLowerCase();
  if (type === ScalarType.STRING) {
    if (typeof v !== "string") fail(path, v, "a string");
  } else if (type === ScalarType.BOOL) {
    if (typeof v !== "boolean") fail(path, v, "a boolean");
  } else if (type === ScalarType.BYTES) {
    if (!(v instanceof Uint8Array)) fail(path, v, "a Uint8Array");
  } else if (type === ScalarType.DOUBLE || type === ScalarType.FLOAT) {
    if (typeof v !== "number") fail(path, v, `a number (${name})`);
  } else if (INT32.includes(type)) {
    if (!isInt(v, -(2 ** 31), 2 ** 31 - 1)) fail(path, v, `an ${name}`);
  } else if (UINT32.includes(type)) {
    if (!isInt(v, 0, 2 ** 32 - 1)) fail(path, v, `a ${name}`);
  } else if (INT64.includes(type) || UINT64.includes(type)) {
    const big = toBigInt(v);
    const [min, max] = UINT64.includes(type)
      ? [0n, 2n ** 64n - 1n]
      : [-(2n ** 63n), 2n ** 63n - 1n];
    if (big === null || big < min || big > max) {
      fail(path, v, `${name} (a bigint, an integer or a decimal string)`);
    }
  }
}

function toBigInt(v: unknown): bigint | null {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return Number.isSafeInteger(v) ? BigInt(v) : null;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  return null;
}

function isInt(v: unknown, min: number, max: number): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  // Messages with explicit presence keep defaults on a prototype.
  return proto === Object.prototype || proto === null ||
    typeof (v as { $typeName?: unknown }).$typeName === "string";
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function fail(path: string, value: unknown, expected: string): never {
  const what = path === "" ? "the message" : `field "${path}"`;
  throw new InitError(path, `${what} is ${show(value)}: expected ${expected}`);
}

function show(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "a Uint8Array";
  if (typeof value === "object" && value !== null) {
    const name = value.constructor?.name;
    return name && name !== "Object" ? `a ${name}` : "an object";
  }
  return String(value);
}
