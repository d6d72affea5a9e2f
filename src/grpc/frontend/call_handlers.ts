/**
 * grpc-js handlers for the four method kinds. Each one wires a grpc-js call
 * to a {@linkcode CallBridge}: where requests come from (one message or a
 * stream) and where responses go (a callback or a stream).
 *
 * @module
 */

import type {
  Metadata,
  sendUnaryData,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedHandleCall,
} from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import {
  CallBridge,
  type CallStatus,
  type MethodRoute,
  type ResponseSink,
} from "./call_bridge.ts";
import { Code } from "../common/grpc_error.ts";

type Bytes = Buffer;

/**
 * Makes the grpc-js handler for one RPC.
 *
 * @param route the RPC and where its calls go
 * @returns a handler for `server.register`
 */
export function makeCallHandler(route: MethodRoute): UntypedHandleCall {
  switch (route.kind) {
    case "unary":
      return (call: ServerUnaryCall<Bytes, Bytes>, cb: sendUnaryData<Bytes>) =>
        void new CallBridge(route, call, unarySink(call, cb)).start(
          call.request,
        );
    case "client_stream":
      return (
        call: ServerReadableStream<Bytes, Bytes>,
        cb: sendUnaryData<Bytes>,
      ) => {
        const bridge = new CallBridge(route, call, unarySink(call, cb));
        if (bridge.start()) pipeRequests(call, bridge);
      };
    case "server_stream":
      return (call: ServerWritableStream<Bytes, Bytes>) =>
        void new CallBridge(route, call, streamSink(call)).start(call.request);
    case "bidi":
      return (call: ServerDuplexStream<Bytes, Bytes>) => {
        const bridge = new CallBridge(route, call, streamSink(call));
        if (bridge.start()) pipeRequests(call, bridge);
      };
  }
}

// `for await` over a grpc-js call does not end on half-close; events do.
function pipeRequests(
  call: ServerReadableStream<Bytes, Bytes> | ServerDuplexStream<Bytes, Bytes>,
  bridge: CallBridge,
): void {
  call.on("data", (chunk: Bytes) => bridge.request(chunk));
  call.on("end", () => bridge.endRequests());
  call.on("error", () => {});
}

/**
 * Response headers wait for the first message or the status, and go out in
 * the same turn: node:http2 in Deno writes headers sent alone as a write of
 * their own (measured: a second socket write and HTTP/2 flush per call,
 * ~15% of the gRPC process's CPU on unary echo).
 */
function deferredHeader(
  call: { sendMetadata(metadata: Metadata): void },
): { set(metadata: Metadata): void; flush(): void } {
  let pending: Metadata | null = null;
  return {
    set: (metadata) => pending = metadata,
    flush: () => {
      if (pending === null) return;
      call.sendMetadata(pending);
      pending = null;
    },
  };
}

function unarySink(
  call: ServerUnaryCall<Bytes, Bytes> | ServerReadableStream<Bytes, Bytes>,
  callback: sendUnaryData<Bytes>,
): ResponseSink {
  let response: Bytes | undefined;
  const header = deferredHeader(call);
  return {
    sendHeader: header.set,
    sendMessage: (bytes) => {
      response = bytes;
    },
    finish: ({ code, details, metadata }: CallStatus) => {
      header.flush();
      if (code !== Code.OK) {
        return callback({ code: code as number, details, metadata });
      }
      if (response === undefined) {
        return callback({
          code: Code.INTERNAL as number,
          details: "Handler method returned no response message",
          metadata,
        });
      }
      callback(null, response, metadata);
    },
  };
}

function streamSink(
  call: ServerWritableStream<Bytes, Bytes> | ServerDuplexStream<Bytes, Bytes>,
): ResponseSink {
  const header = deferredHeader(call);
  return {
    sendHeader: header.set,
    sendMessage: (bytes) => {
      header.flush();
      call.write(bytes);
    },
    finish: ({ code, details, metadata }: CallStatus) => {
      header.flush();
      if (code === Code.OK) call.end(metadata);
      else call.emit("error", { code, details, metadata });
    },
  };
}
