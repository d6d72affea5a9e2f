/**
 * The grpc-js half of one gRPC call: admits it, posts its request bytes to
 * the replica as they came (the replica decodes them:
 * src/grpc/common/message_codec.ts), and turns the replica's replies (the
 * response bytes it encoded) into grpc-js responses.
 *
 * @module
 */

import type { DescMethod } from "@bufbuild/protobuf";
import type { Metadata } from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { Code } from "../common/grpc_error.ts";
import {
  metadataToRecord,
  recordToMetadata,
  UnindexedMetadata,
} from "./grpcjs_metadata.ts";
import {
  GRPC_CREDIT_BATCH_BYTES,
  isRefusal,
  streamsResponses,
} from "../common/protocol.ts";
import type {
  GrpcBackend,
  GrpcFromReplica,
  GrpcLease,
  GrpcLogger,
  GrpcMetadata,
  MethodKind,
} from "../common/protocol.ts";

/** Response headers whose values differ on every call (see UnindexedMetadata). */
const UNINDEXED = ["x-request-id"];

/** Everything about an RPC that stays the same from call to call. */
export interface MethodRoute {
  api: string;
  method: DescMethod;
  kind: MethodKind;
  /** False when the handler has no method for the RPC. */
  implemented: boolean;
  backend: GrpcBackend;
  logger: GrpcLogger;
}

/** A final status. */
export interface CallStatus {
  code: Code;
  details: string;
  metadata: Metadata;
}

/** Where the responses of one call go (unary callback or stream). */
export interface ResponseSink {
  sendHeader(metadata: Metadata): void;
  /**
   * Sends a response; calls `taken` (streams only) once the client's
   * HTTP/2 stream has taken it, which returns its bytes as credit.
   */
  sendMessage(bytes: Buffer, taken?: () => void): void;
  finish(status: CallStatus): void;
}

/** The parts of a grpc-js server call the bridge uses. */
export interface ServerCallLike {
  readonly metadata: Metadata;
  getDeadline(): Date | number;
  /** grpc-js: "host:port" of the client. */
  getPeer?(): string;
  on(event: "cancelled", listener: () => void): unknown;
}

/** The address of a grpc-js peer ("1.2.3.4:5", "[::1]:5", "ipv4:..."). */
export function peerAddress(peer: string | undefined): string | undefined {
  if (!peer) return undefined;
  const bare = peer.replace(/^ipv[46]:/, "");
  const m = /^\[([^\]]+)\](:\d+)?$/.exec(bare) ??
    /^([^:]+)(:\d+)?$/.exec(bare);
  return m ? m[1] : bare;
}

/** One call between grpc-js and a replica. */
export class CallBridge {
  #route: MethodRoute;
  #call: ServerCallLike;
  #sink: ResponseSink;
  #lease: GrpcLease | null = null;
  #requestId: string;
  #finished = false;
  #headerSent = false;
  /** Response bytes HTTP/2 took and not yet credited to the replica. */
  #credit = 0;
  /** Lengths of the responses written and not yet taken, in order. */
  readonly #writing: number[] = [];
  /**
   * One callback for every write: Node's Writable runs consecutive
   * completions of the same callback in one tick, a new closure per write
   * would cost a tick each.
   */
  readonly #takenOne = () => this.#taken(this.#writing.shift() ?? 0);

  constructor(route: MethodRoute, call: ServerCallLike, sink: ResponseSink) {
    this.#route = route;
    this.#call = call;
    this.#sink = sink;
    const id = call.metadata.get("x-request-id")[0];
    this.#requestId = typeof id === "string" && id !== ""
      ? id
      : crypto.randomUUID();
    call.on("cancelled", () => this.#cancel());
  }

  /**
   * Admits the call and posts its start. For unary and server-streaming
   * calls, pass the request: the input is ended after it.
   *
   * @returns false when the call already ended (refused)
   */
  start(request?: Uint8Array): boolean {
    const { api, method, kind, implemented, backend } = this.#route;
    const name = `${method.parent.typeName}/${method.name}`;
    if (!implemented) {
      return this.#end(
        Code.UNIMPLEMENTED,
        `Method "${name}" is not implemented by the handler of API "${api}"`,
      );
    }
    const metadata = metadataToRecord(this.#call.metadata);
    const peer = peerAddress(this.#call.getPeer?.());
    const lease = backend.admit(api, { metadata, peer });
    if (isRefusal(lease)) return this.#end(lease.code, lease.details);
    if (lease === null) {
      return this.#end(
        Code.UNAVAILABLE,
        `API "${api}" is at its concurrency limit: retry later`,
      );
    }
    this.#lease = lease;
    lease.onMessage((msg) => this.#onReplica(msg));
    lease.onLost((reason) => {
      this.#end(
        Code.UNAVAILABLE,
        `Replica of API "${api}" stopped during the call: ${reason}`,
      );
      this.#release();
    });
    const deadline = this.#call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() : deadline;
    lease.post({
      type: "grpc.start",
      callId: lease.callId,
      api,
      service: method.parent.typeName,
      method: method.name,
      kind,
      metadata,
      deadline: Number.isFinite(ms) ? ms : null,
      requestId: this.#requestId,
      ...(peer === undefined ? {} : { peer }),
    });
    if (request !== undefined) {
      lease.post({
        type: "grpc.message",
        callId: lease.callId,
        message: request,
      });
      lease.post({ type: "grpc.end", callId: lease.callId });
    }
    return true;
  }

  /** Forwards one streamed request message. */
  request(bytes: Uint8Array): void {
    if (this.#finished || this.#lease === null) return;
    this.#lease.post({
      type: "grpc.message",
      callId: this.#lease.callId,
      message: bytes,
    });
  }

  /** Forwards the client's half-close. */
  endRequests(): void {
    if (this.#finished || this.#lease === null) return;
    this.#lease.post({ type: "grpc.end", callId: this.#lease.callId });
  }

  #cancel(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#postCancel();
  }

  #onReplica(msg: GrpcFromReplica): void {
    if (msg.type === "grpc.done") {
      this.#end(msg.code, msg.details, msg.trailers);
      this.#release();
      return;
    }
    if (this.#finished) return;
    if (msg.type === "grpc.header") return this.#sendHeader(msg.metadata);
    const bytes = msg.message;
    if (!(bytes instanceof Uint8Array)) {
      // The replica encodes; the serving process checks it sent bytes.
      this.#end(Code.INTERNAL, "The replica sent a response that is not bytes");
      this.#postCancel();
      return;
    }
    this.#sendHeader({});
    const buffer = Buffer.from(
      bytes.buffer,
      bytes.byteOffset,
      bytes.byteLength,
    );
    if (!streamsResponses(this.#route.kind)) {
      return this.#sink.sendMessage(buffer);
    }
    this.#writing.push(bytes.byteLength);
    this.#sink.sendMessage(buffer, this.#takenOne);
  }

  /** HTTP/2 took `bytes` of responses: credit them back, in batches. */
  #taken(bytes: number): void {
    this.#credit += bytes;
    if (this.#credit < GRPC_CREDIT_BATCH_BYTES) return;
    if (this.#finished || this.#lease === null) return;
    this.#lease.post({
      type: "grpc.credit",
      callId: this.#lease.callId,
      bytes: this.#credit,
    });
    this.#credit = 0;
  }

  #sendHeader(metadata: GrpcMetadata): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    const md = this.#toMetadata(metadata, new UnindexedMetadata(UNINDEXED));
    md.set("x-request-id", this.#requestId);
    this.#sink.sendHeader(md);
  }

  #end(code: number, details: string, trailers?: GrpcMetadata): false {
    if (this.#finished) return false;
    this.#sendHeader({});
    this.#finished = true;
    const metadata = this.#toMetadata(trailers);
    this.#sink.finish({ code, details, metadata });
    return false;
  }

  #toMetadata(record: GrpcMetadata | undefined, md?: Metadata): Metadata {
    return recordToMetadata(
      record,
      (reason) =>
        this.#route.logger.warning(`Dropped response metadata: ${reason}`, {
          api: this.#route.api,
          request_id: this.#requestId,
        }),
      md,
    );
  }

  #postCancel(): void {
    if (this.#lease === null) return;
    this.#lease.post({ type: "grpc.cancel", callId: this.#lease.callId });
  }

  #release(): void {
    const lease = this.#lease;
    this.#lease = null;
    lease?.release();
  }
}
