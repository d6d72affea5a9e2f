/**
 * Test support: a grpc-js client for the fixture's test.proto that encodes
 * with the registry codec.
 *
 * @module
 */

import {
  create,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";

type Msg = Record<string, unknown>;

/** The result of a call with a single response. */
export interface UnaryResult {
  message: Msg;
  header: grpc.Metadata;
  trailer: grpc.Metadata;
}

/** Call options. */
export interface CallOpts {
  metadata?: Record<string, string>;
  deadline?: Date;
}

/** A grpc-js client for test.proto, using the registry codec. */
export class TestClient extends grpc.Client {
  #registry: FileRegistry;

  constructor(address: string, registry: FileRegistry) {
    super(address, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 64 << 20,
    });
    this.#registry = registry;
  }

  /** Serializer and deserializer for two message types. */
  // deno-lint-ignore require-await
  async codec(
    input = "test.v1.Req",
    output = "test.v1.Res",
  ): Promise<{ ser(v: unknown): Buffer; de(b: Buffer): Msg }> {
    const registry = this.#registry;
    const i = registry.getMessage(input)!;
    const o = registry.getMessage(output)!;
    return { ser: (v) => encode(i, v), de: (b) => fromBinary(o, b) as Msg };
  }

  /** A unary call; rejects with the ServiceError on a non-OK status. */
  async unary(method: string, req: unknown, opts: CallOpts = {}) {
    const { ser, de } = await this.codec();
    return await new Promise<UnaryResult>((resolve, reject) => {
      let header = new grpc.Metadata();
      const call = this.makeUnaryRequest(
        `/test.v1.TestService/${method}`,
        ser,
        de,
        req,
        toMetadata(opts.metadata),
        { deadline: opts.deadline },
        (err, message) => err ? reject(err) : (res.message = message!),
      );
      const res = {} as UnaryResult;
      call.on("metadata", (md) => header = md);
      call.on("status", (s) => {
        if (s.code === 0) resolve({ ...res, header, trailer: s.metadata });
      });
    });
  }

  /** Raw bytes in, so tests can send what does not decode. */
  unaryRaw(method: string, bytes: Uint8Array): Promise<Msg> {
    return new Promise((resolve, reject) => {
      this.makeUnaryRequest(
        `/test.v1.TestService/${method}`,
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => ({ length: b.length }),
        bytes,
        (err, m) => err ? reject(err) : resolve(m!),
      );
    });
  }

  /** A client-streaming call. */
  async clientStream(method: string, reqs: unknown[]): Promise<Msg> {
    const { ser, de } = await this.codec();
    return await new Promise((resolve, reject) => {
      const call = this.makeClientStreamRequest(
        `/test.v1.TestService/${method}`,
        ser,
        de,
        (err, m) => err ? reject(err) : resolve(m!),
      );
      for (const r of reqs) call.write(r);
      call.end();
    });
  }

  /** A server-streaming call; collects every message. */
  async serverStream(method: string, req: unknown): Promise<Msg[]> {
    const { ser, de } = await this.codec();
    return await new Promise((resolve, reject) => {
      const out: Msg[] = [];
      const call = this.makeServerStreamRequest(
        `/test.v1.TestService/${method}`,
        ser,
        de,
        req,
      );
      call.on("data", (m: Msg) => out.push(m));
      call.on("error", reject);
      call.on("status", (s) => s.code === 0 && resolve(out));
    });
  }

  /** A bidirectional call. */
  async bidi(method: string): Promise<grpc.ClientDuplexStream<unknown, Msg>> {
    const { ser, de } = await this.codec();
    return this.makeBidiStreamRequest(
      `/test.v1.TestService/${method}`,
      ser,
      de,
    );
  }
}

function encode(desc: DescMessage, v: unknown): Buffer {
  return Buffer.from(toBinary(desc, create(desc, v as never)));
}

function toMetadata(record: Record<string, string> = {}): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(record)) md.set(k, v);
  return md;
}

/** Resolves with the next event of `emitter`. */
export function once<T>(
  emitter: { once(event: string, l: (v: T) => void): unknown },
  event: string,
): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve));
}
