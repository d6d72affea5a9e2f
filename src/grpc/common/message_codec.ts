/**
 * Binary encoding of an API's request and response messages with its
 * registry. The replica decodes and encodes (the gRPC process and the
 * serving process pass the bytes through untouched), so a request that does
 * not decode is `INVALID_ARGUMENT` and a response that does not fit is
 * `INTERNAL` with the field named.
 *
 * @module
 */

import {
  create,
  type DescMessage,
  fromBinary,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, GrpcError } from "./grpc_error.ts";
import { checkMessageInit } from "./init_check.ts";
import { toPlain } from "./plain_message.ts";
import { findService, loadRegistry } from "./registry.ts";

/**
 * Decodes a request into a plain message object.
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
export function encodeMessage(desc: DescMessage, value: unknown): Uint8Array {
  if (
    (value === undefined || value === null) &&
    desc.typeName === "google.protobuf.Empty"
  ) {
    value = {};
  }
  checkMessageInit(desc, value);
  return toBinary(desc, create(desc, value as Record<string, never>));
}

/** The codec of one RPC: its request and response types. */
export interface MethodCodec {
  /** The response type's full name, for messages. */
  readonly outputName: string;
  /** @throws {GrpcError} `INVALID_ARGUMENT` when the bytes do not decode */
  decode(bytes: Uint8Array): unknown;
  /** @throws {TypeError} naming the field when the value does not fit */
  encode(value: unknown): Uint8Array;
}

/** The codec of an RPC by its name as in the `.proto`, if it has one. */
export type MethodCodecs = (rpc: string) => MethodCodec | undefined;

/**
 * The codecs of the one service of an API's `.proto`.
 *
 * @param descriptorSet the API's compiled FileDescriptorSet
 * @param protoPath the API's `.proto`, relative to the project
 * @throws {GrpcConfigError} when the set does not load or the file does not
 *   define exactly one service
 */
export function methodCodecs(
  descriptorSet: Uint8Array,
  protoPath: string,
): MethodCodecs {
  const service = findService(loadRegistry(descriptorSet), protoPath);
  const codecs = new Map<string, MethodCodec>();
  for (const method of service.methods) {
    const { input, output } = method;
    codecs.set(method.name, {
      outputName: output.typeName,
      decode: (bytes) => decodeMessage(input, bytes),
      encode: (value) => encodeMessage(output, value),
    });
  }
  return (rpc) => codecs.get(rpc);
}
