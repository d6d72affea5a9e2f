/**
 * Checks on metadata keys and values set by handlers, and the plain record
 * form of metadata. Free of grpc-js: replicas import it.
 *
 * @module
 */

import type { GrpcMetadata } from "./protocol.ts";

const KEY = /^[0-9a-z_.-]+$/;
const ASCII_VALUE = /^[\x20-\x7e]*$/;

/**
 * Throws a TypeError unless `key` and `value` can be sent as metadata.
 *
 * @param key a metadata key set by a handler
 * @param value its value (base64 for keys ending in `-bin`)
 */
export function checkMetadataEntry(key: string, value: string): void {
  if (!KEY.test(key) || key.startsWith("grpc-")) {
    throw new TypeError(
      `Invalid metadata key "${key}": use lower-case letters, digits, "-", "_" and "." and do not start with "grpc-"`,
    );
  }
  if (typeof value !== "string") {
    throw new TypeError(`Invalid metadata value for "${key}": not a string`);
  }
  if (!key.endsWith("-bin") && !ASCII_VALUE.test(value)) {
    throw new TypeError(
      `Invalid metadata value for "${key}": only printable ASCII is allowed; use a key ending in "-bin" and base64 for binary values`,
    );
  }
}

/**
 * Adds `value` under `key`, keeping repeated keys as arrays.
 *
 * @param record the metadata record to change
 * @param key a metadata key
 * @param value its value
 */
export function appendMetadata(
  record: GrpcMetadata,
  key: string,
  value: string,
): void {
  const old = record[key];
  if (old === undefined) record[key] = value;
  else if (Array.isArray(old)) old.push(value);
  else record[key] = [old, value];
}
