/**
 * The gRPC API on the HTTP port: the Connect protocol and gRPC-Web, served
 * inside the replica with the Connect-ES universal handlers on
 * `Request`/`Response` (no trailers, no `node:http2`, no grpc-js). Each call
 * runs through the same replica side as a call from the gRPC port
 * (src/grpc/replica/replica_side.ts), so handler methods, deadlines, cancellation,
 * batching, metadata and error codes behave the same.
 *
 * gRPC-Web's text mode is translated to and from the binary mode
 * (src/grpc/replica/grpc_web_text.ts).
 *
 * Client-streaming and bidirectional methods answer `unimplemented`: Connect
 * over HTTP/1.1 and gRPC-Web from browsers cannot stream requests, and those
 * methods stay on the gRPC port.
 *
 * @module
 */

import {
  create,
  type DescMessage,
  type DescMethod,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  Code as ConnectCode,
  ConnectError,
  createConnectRouter,
  createContextKey,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import {
  universalServerRequestFromFetch,
  universalServerResponseToFetch,
} from "@connectrpc/connect/protocol";
import { AsyncQueue } from "./async_queue.ts";
import {
  fromGrpcWebText,
  isGrpcWebText,
  toGrpcWebText,
} from "./grpc_web_text.ts";
import { checkMessageInit } from "../common/init_check.ts";
import { appendMetadata } from "../common/metadata_record.ts";
import { toPlain } from "../common/plain_message.ts";
import type {
  GrpcFromReplica,
  GrpcMetadata,
  GrpcToReplica,
  MethodKind,
} from "../common/protocol.ts";
import { findService, loadRegistry } from "../common/registry.ts";

/** The replica side that runs calls (src/grpc/replica/replica_side.ts). */
export interface CallRunner {
  onMessage(msg: GrpcToReplica): void;
}

/** What the HTTP door of a gRPC API needs from its replica. */
export interface ConnectServeOptions {
  /** The API's compiled FileDescriptorSet. */
  descriptorSet: Uint8Array;
  /** The API's `.proto`, relative to the project. */
  protobufPath: string;
  /** The API's name, for messages. */
  api: string;
  /**
   * Creates the replica side that runs this door's calls and sends their
   * messages to `post` (instead of to the serving process).
   */
  runner(post: (msg: GrpcFromReplica) => void): CallRunner;
  /** `handler.request_timeout`: bounds every call's deadline. */
  requestTimeoutMs: number;
  /** `handler.max_body_size`: the largest request message. */
  maxBodyBytes: number;
  /** Logs a response the handler returned that does not fit its type. */
  logError(message: string, requestId: string): void;
}

/** Serves `POST /<package>.<Service>/<Method>` requests. */
export interface ConnectServe {
  /** `/<package>.<Service>`: the path prefix the serving process routes here. */
  readonly servicePath: string;
  /** Answers one request; never rejects. */
  serve(req: Request, requestId: string): Promise<Response>;
}

/** Request headers that belong to the protocols, not to the call's metadata. */
const PROTOCOL_HEADERS = new Set([
  "connection",
  "content-encoding",
  "content-length",
  "content-type",
  "accept-encoding",
  "host",
  "keep-alive",
  "te",
  "transfer-encoding",
  "upgrade",
  "x-grpc-web",
  "x-user-agent",
]);

type Done = Extract<GrpcFromReplica, { type: "grpc.done" }>;

const REQUEST_ID = createContextKey("", { description: "x-request-id" });

const KINDS: Record<DescMethod["methodKind"], MethodKind> = {
  unary: "unary",
  client_streaming: "client_stream",
  server_streaming: "server_stream",
  bidi_streaming: "bidi",
};

/**
 * The request headers of a Connect or gRPC-Web call as gRPC metadata, as a
 * call on the gRPC port would see them.
 *
 * @param headers the HTTP request headers
 * @returns lower-case keys, protocol headers (`connect-*`, `grpc-*`,
 * content and connection headers) left out
 */
export function headersToMetadata(headers: Headers): GrpcMetadata {
  const out: GrpcMetadata = {};
  for (const [key, value] of headers) {
    if (
      PROTOCOL_HEADERS.has(key) || key.startsWith("connect-") ||
      key.startsWith("grpc-")
    ) continue;
    // Headers joins repeated fields with ", " (set-cookie aside).
    appendMetadata(out, key, value);
  }
  return out;
}

/** Appends gRPC metadata to HTTP headers. */
function appendTo(target: Headers, metadata: GrpcMetadata | undefined): void {
  for (const [key, values] of Object.entries(metadata ?? {})) {
    for (const v of Array.isArray(values) ? values : [values]) {
      target.append(key, v);
    }
  }
}

/**
 * Creates the HTTP door of a gRPC API.
 *
 * @example In a replica
 * ```ts ignore
 * const door = createConnectServe({
 *   descriptorSet, protobufPath: "echo.proto", api: "echo",
 *   runner: (post) => createGrpcReplicaSide({ ...sideOptions, post }),
 *   requestTimeoutMs: 30_000, maxBodyBytes: 1 << 20,
 *   logError: (message, requestId) => logger.error(message, { requestId }),
 * });
 * const res = await door.serve(request, requestId);
 * ```
 *
 * @param opts the API's descriptors and the replica's call runner
 * @returns the service path and the request function
 * @throws {GrpcConfigError} when the `.proto` does not define one service
 */
export function createConnectServe(opts: ConnectServeOptions): ConnectServe {
  const service = findService(
    loadRegistry(opts.descriptorSet),
    opts.protobufPath,
  );
  const listeners = new Map<number, (msg: GrpcFromReplica) => void>();
  const runner = opts.runner((msg) => listeners.get(msg.callId)?.(msg));
  let nextCallId = 1;

  /** Runs one call; yields the handler's plain response values. */
  async function* call(
    method: DescMethod,
    request: unknown,
    context: HandlerContext,
  ): AsyncGenerator<unknown> {
    const callId = nextCallId++;
    const requestId = context.values.get(REQUEST_ID);
    const timeoutMs = Math.min(
      context.timeoutMs() ?? Infinity,
      opts.requestTimeoutMs,
    );
    const out = new AsyncQueue<unknown>();
    // Set by the listener; a holder, since narrowing ignores closures.
    const state: { done: Done | null } = { done: null };
    listeners.set(callId, (msg) => {
      if (msg.type === "grpc.header") {
        appendTo(context.responseHeader, msg.metadata);
      } else if (msg.type === "grpc.message") out.push(msg.message);
      else {
        state.done = msg;
        out.end();
      }
    });
    const cancel = () => runner.onMessage({ type: "grpc.cancel", callId });
    context.signal.addEventListener("abort", cancel, { once: true });
    try {
      runner.onMessage({
        type: "grpc.start",
        callId,
        api: opts.api,
        service: service.typeName,
        method: method.name,
        kind: KINDS[method.methodKind],
        metadata: headersToMetadata(context.requestHeader),
        deadline: Date.now() + timeoutMs,
        requestId,
      });
      runner.onMessage({ type: "grpc.message", callId, message: request });
      runner.onMessage({ type: "grpc.end", callId });
      for await (const value of out) {
        yield encodable(method, value, requestId, cancel);
      }
      const done = state.done;
      if (done === null) return;
      if (done.code !== 0) {
        throw new ConnectError(
          done.details,
          done.code as ConnectCode,
          toHeaders(done.trailers),
        );
      }
      appendTo(context.responseTrailer, done.trailers);
    } finally {
      context.signal.removeEventListener("abort", cancel);
      listeners.delete(callId);
      // The client went away mid-stream: stop the handler.
      if (state.done === null) cancel();
    }
  }

  /** The handler's value as a message of the method's output type. */
  function encodable(
    method: DescMethod,
    value: unknown,
    requestId: string,
    cancel: () => void,
  ): MessageShape<DescMessage> {
    const desc = method.output;
    if (
      (value === undefined || value === null) &&
      desc.typeName === "google.protobuf.Empty"
    ) value = {};
    try {
      checkMessageInit(desc, value);
      return create(desc, value as Record<string, never>);
    } catch (err) {
      const details =
        `Handler method "${service.typeName}/${method.name}" returned an invalid ${desc.typeName}: ${
          (err as Error).message
        }`;
      opts.logError(details, requestId);
      cancel();
      throw new ConnectError(details, ConnectCode.Internal);
    }
  }

  const impl: Record<string, unknown> = {};
  for (const method of service.methods) {
    const name = `${service.typeName}/${method.name}`;
    switch (method.methodKind) {
      case "unary":
        impl[method.localName] = async (req: unknown, ctx: HandlerContext) => {
          let reply: unknown;
          for await (const v of call(method, toPlain(req), ctx)) reply = v;
          return reply;
        };
        break;
      case "server_streaming":
        impl[method.localName] = (req: unknown, ctx: HandlerContext) =>
          call(method, toPlain(req), ctx);
        break;
      default:
        impl[method.localName] = () => {
          throw new ConnectError(
            `Method "${name}" streams requests, which Connect and gRPC-Web on the HTTP port cannot carry: call it on the gRPC port`,
            ConnectCode.Unimplemented,
          );
        };
    }
  }
  const router = createConnectRouter({
    connect: true,
    grpcWeb: true,
    grpc: false,
    readMaxBytes: opts.maxBodyBytes,
  }).service(service, impl as never);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  const servicePath = `/${service.typeName}`;

  return {
    servicePath,
    async serve(req, requestId) {
      const path = new URL(req.url).pathname;
      const handler = handlers.get(path);
      if (handler === undefined) {
        return Response.json({
          code: "unimplemented",
          message: `No method "${
            path.slice(1)
          }" in service "${service.typeName}" of API "${opts.api}"`,
        }, { status: 404 });
      }
      const text = isGrpcWebText(req);
      if (text) {
        try {
          req = await fromGrpcWebText(req);
        } catch (err) {
          return Response.json({
            code: "invalid_argument",
            message: (err as Error).message,
          }, { status: 400 });
        }
      }
      const ureq = universalServerRequestFromFetch(req, {});
      ureq.contextValues = createContextValues().set(REQUEST_ID, requestId);
      const res = universalServerResponseToFetch(await handler(ureq));
      return text ? toGrpcWebText(res) : res;
    },
  };
}

function toHeaders(metadata: GrpcMetadata | undefined): Headers {
  const headers = new Headers();
  appendTo(headers, metadata);
  return headers;
}
