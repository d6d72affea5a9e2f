/**
 * The gRPC baseline: a bare `@grpc/grpc-js` server under Deno with the
 * `@bufbuild/protobuf` codec, answering bench.v1.Echo/Say like
 * scripts/bench/projects/grpc_echo/handler.ts, and bench.v1.Echo/Stream
 * (STREAM_REPLIES replies of the request's text).
 *
 * Usage: deno run --allow-net --allow-env --allow-read --allow-sys raw/grpc_echo.ts PORT
 *
 * @module
 */

import {
  type sendUnaryData,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import {
  type EchoReply,
  EchoReplySchema,
  type EchoRequest,
  EchoRequestSchema,
} from "../projects/grpc_echo/gen/echo_pb.ts";
import { STREAM_REPLIES } from "../projects/grpc_echo/handler.ts";

const codec = {
  requestSerialize: (m: EchoRequest) =>
    Buffer.from(toBinary(EchoRequestSchema, m)),
  requestDeserialize: (b: Buffer) => fromBinary(EchoRequestSchema, b),
  responseSerialize: (m: EchoReply) =>
    Buffer.from(toBinary(EchoReplySchema, m)),
  responseDeserialize: (b: Buffer) => fromBinary(EchoReplySchema, b),
};
const service = {
  Say: {
    path: "/bench.v1.Echo/Say",
    requestStream: false,
    responseStream: false,
    ...codec,
  },
  Stream: {
    path: "/bench.v1.Echo/Stream",
    requestStream: false,
    responseStream: true,
    ...codec,
  },
};

const server = new Server();
server.addService(service, {
  Say(
    call: ServerUnaryCall<EchoRequest, EchoReply>,
    done: sendUnaryData<EchoReply>,
  ) {
    done(null, create(EchoReplySchema, { text: call.request.text }));
  },
  Stream(call: ServerWritableStream<EchoRequest, EchoReply>) {
    for (let i = 0; i < STREAM_REPLIES; i++) {
      call.write(create(EchoReplySchema, { text: call.request.text }));
    }
    call.end();
  },
});
server.bindAsync(
  `127.0.0.1:${Deno.args[0]}`,
  ServerCredentials.createInsecure(),
  (error) => {
    if (error) throw error;
  },
);
