/**
 * grpc-js serializers: raw bytes for the APIs' calls (the replica decodes and
 * encodes their messages: src/grpc/common/message_codec.ts) and typed ones
 * for the built-in health and reflection services.
 *
 * @module
 */

import { type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";

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
