/**
 * Binary encoding of request and response messages with the API's registry.
 * grpc-js only moves bytes; decoding and encoding happen here so that a
 * request that does not decode is `INVALID_ARGUMENT` and a response that does
 * not fit is `INTERNAL` with the field named.
 *
 * @module
 */

import {
  create,
  type DescMessage,
  fromBinary,
  toBinary,
} from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import { Code, GrpcError } from "../common/grpc_error.ts";
import { checkMessageInit } from "../common/init_check.ts";
import { toPlain } from "../common/plain_message.ts";

/**
 * Decodes a request into a plain, structured-clonable message object.
 *
 * @param desc the request message type
 * @param bytes the request as received
 * @returns the message, with defaults as own properties
 * @throws {GrpcError} `INVALID_ARGUMENT` when the bytes do not decode
 */
export function decodeMessage(desc: DescMessage, bytes: Uint8Array): unknown {
  try {
    return toPlain(fromBinary(desc, bytes, { readUnknownFields: false }));
  } catch (err) {
    throw new GrpcError(
      Code.INVALID_ARGUMENT,
      `Cannot decode request as ${desc.typeName}: ${(err as Error).message}`,
    );
  }
}

/**
 * Encodes what a handler returned (a message or a plain initialiser object).
 *
 * @param desc the response message type
 * @param value the handler's value
 * @returns the wire bytes
 * @throws {TypeError} naming the field when the value does not fit `desc`
 */
export function encodeMessage(desc: DescMessage, value: unknown): Buffer {
  if (
    (value === undefined || value === null) &&
    desc.typeName === "google.protobuf.Empty"
  ) {
    value = {};
  }
  checkMessageInit(desc, value);
  const bytes = toBinary(desc, create(desc, value as Record<string, never>));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Encoding functions for a message type that grpc-js can call, used by the
 * built-in health and reflection services.
 *
 * @param desc the message type
 * @returns serialize and deserialize functions
 */
export function schemaSerializers<T>(desc: DescMessage): {
  serialize(value: T): Buffer;
  deserialize(bytes: Uint8Array): T;
} {
  return {
    serialize: (value) => {
      const bytes = toBinary(desc, value as never);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (bytes) => fromBinary(desc, bytes) as T,
  };
}

/** The identity serializer: grpc-js passes raw bytes through it. */
export function rawBytes(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value)
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
