import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { Handler } from "../../../examples/grpc/handler.ts";
import { compileProto } from "../build/proto_compile.ts";
import { loadRegistry } from "../common/registry.ts";
import { methodCodecs } from "../common/message_codec.ts";
import { startGrpcServer } from "./grpc_server.ts";
import { FakeBackend, MemoryLogger, PROJECT } from "../_testing.ts";
import { once } from "./_test_client.ts";

const EXAMPLE = fileURLToPath(
  new URL("../../../examples/grpc", import.meta.url),
);

class Other {
  Echo(req: { text: string }) {
    return { text: `other:${req.text}` };
  }
}

Deno.test("examples/grpc serves all four kinds next to another API on one port", async () => {
  const echoSet = await compileProto(EXAMPLE, "echo.proto");
  const otherSet = await compileProto(PROJECT, "other.proto");
  const ctx = { logger: { info() {} } } as never;
  const backends: Record<string, FakeBackend> = {
    "grpc-echo": new FakeBackend(
      new Handler({ prefix: "> " }, ctx),
      methodCodecs(echoSet, "echo.proto"),
    ),
    other: new FakeBackend(new Other(), methodCodecs(otherSet, "other.proto")),
  };
  const server = await startGrpcServer({
    apis: [
      {
        name: "grpc-echo",
        protobufPath: "echo.proto",
        descriptorSet: echoSet,
        handlerMethods: ["Say", "Collect", "Repeat", "Chat"],
      },
      {
        name: "other",
        protobufPath: "other.proto",
        descriptorSet: otherSet,
        handlerMethods: ["Echo"],
      },
    ],
    host: "127.0.0.1",
    port: 0,
    backend: { admit: (api) => backends[api]!.admit(api) },
    logger: new MemoryLogger(),
    health: { isServing: () => true },
  });
  const client = new grpc.Client(
    `127.0.0.1:${server.port}`,
    grpc.credentials.createInsecure(),
  );
  try {
    const reg = loadRegistry(echoSet);
    const codec = (name: string) => {
      const d = reg.getMessage(name)!;
      return {
        ser: (v: unknown) => Buffer.from(toBinary(d, create(d, v as never))),
        de: (b: Buffer) => fromBinary(d, b) as Record<string, unknown>,
      };
    };
    const req = codec("echo.v1.EchoRequest");
    const reply = codec("echo.v1.EchoReply");
    const summary = codec("echo.v1.EchoSummary");
    const path = (m: string) => `/echo.v1.Echo/${m}`;

    const said = await new Promise<Record<string, unknown>>((res, rej) =>
      client.makeUnaryRequest(
        path("Say"),
        req.ser,
        reply.de,
        { text: "hi" },
        (e, m) => e ? rej(e) : res(m!),
      )
    );
    assert.equal(said.text, "> hi");

    const collected = await new Promise<Record<string, unknown>>((res, rej) => {
      const call = client.makeClientStreamRequest(
        path("Collect"),
        req.ser,
        summary.de,
        (e, m) => e ? rej(e) : res(m!),
      );
      call.write({ text: "a" });
      call.write({ text: "b" });
      call.end();
    });
    assert.deepEqual([collected.count, collected.joined], [2, "a b"]);

    const repeated: unknown[] = [];
    const stream = client.makeServerStreamRequest(
      path("Repeat"),
      req.ser,
      reply.de,
      { text: "r", repeat: 3 },
    );
    stream.on("data", (m: Record<string, unknown>) => repeated.push(m.index));
    await once(stream, "end");
    assert.deepEqual(repeated, [0, 1, 2]);

    const chat = client.makeBidiStreamRequest(path("Chat"), req.ser, reply.de);
    chat.write({ text: "one" });
    assert.equal(
      (await once<Record<string, unknown>>(chat, "data")).text,
      "> one",
    );
    chat.write({ text: "two" });
    assert.equal((await once<Record<string, unknown>>(chat, "data")).index, 1);
    chat.end();
    await once(chat, "end");

    const otherReg = loadRegistry(otherSet);
    const ping = otherReg.getMessage("other.v1.Ping")!;
    const other = await new Promise<Record<string, unknown>>((res, rej) =>
      client.makeUnaryRequest(
        "/other.v1.Other/Echo",
        (v: unknown) => Buffer.from(toBinary(ping, create(ping, v as never))),
        (b: Buffer) => fromBinary(ping, b) as Record<string, unknown>,
        { text: "x" },
        (e, m) => e ? rej(e) : res(m!),
      )
    );
    assert.equal(other.text, "other:x");
    assert.equal(backends.other!.admitted, 1);
    assert.equal(backends["grpc-echo"]!.admitted, 4);
  } finally {
    client.close();
    await server.shutdown(2000);
  }
});
