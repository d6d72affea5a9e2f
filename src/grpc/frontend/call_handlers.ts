/**
 * grpc-js handlers for the four method kinds. Each one wires a grpc-js call
 * to a {@linkcode CallBridge}: where requests come from (one message or a
 * stream) and where responses go (a callback or a stream).
 *
 * @module
 */

import type {
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

function unarySink(
  call: ServerUnaryCall<Bytes, Bytes> | ServerReadableStream<Bytes, Bytes>,
  callback: sendUnaryData<Bytes>,
): ResponseSink {
  let response: Bytes | undefined;
  return {
    sendHeader: (metadata) => call.sendMetadata(metadata),
    sendMessage: (bytes) => {
      response = bytes;
    },
    finish: ({ code, details, metadata }: CallStatus) => {
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
  return {
    sendHeader: (metadata) => call.sendMetadata(metadata),
    // The callback runs once grpc-js has handed the message to HTTP/2: for a
    // client that does not read, never.
    sendMessage: (bytes, taken) => void call.write(bytes, taken),
    finish: ({ code, details, metadata }: CallStatus) => {
      if (code === Code.OK) call.end(metadata);
      else call.emit("error", { code, details, metadata });
    },
  };
}
