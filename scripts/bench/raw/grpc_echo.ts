/**
 * The gRPC baseline: a bare `@grpc/grpc-js` server under Deno with the
 * `@bufbuild/protobuf` codec, answering bench.v1.Echo/Say like
 * scripts/bench/projects/grpc_echo/handler.ts.
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
} from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import {
  type EchoReply,
  EchoReplySchema,
  type EchoRequest,
  EchoRequestSchema,
} from "../projects/grpc_echo/gen/echo_pb.ts";

const service = {
  Say: {
    path: "/bench.v1.Echo/Say",
    requestStream: false,
    responseStream: false,
    requestSerialize: (m: EchoRequest) =>
      Buffer.from(toBinary(EchoRequestSchema, m)),
    requestDeserialize: (b: Buffer) => fromBinary(EchoRequestSchema, b),
    responseSerialize: (m: EchoReply) =>
      Buffer.from(toBinary(EchoReplySchema, m)),
    responseDeserialize: (b: Buffer) => fromBinary(EchoReplySchema, b),
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
});
server.bindAsync(
  `127.0.0.1:${Deno.args[0]}`,
  ServerCredentials.createInsecure(),
  (error) => {
    if (error) throw error;
  },
);
