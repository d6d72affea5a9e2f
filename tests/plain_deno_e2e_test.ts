/**
 * The README's "Deno 2 already installed" path: a copy of the runtime without
 * `tools/deno/node_modules` (no buf, no protoc-gen-es, no npm toolchain)
 * serves examples/grpc through its `serve` task with this Deno; the supervisor
 * gets buf through Deno's npm support, and a stock grpc-js call answers.
 */

import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { withServer } from "./_server.ts";
import {
  type EchoReply,
  EchoReplySchema,
  EchoRequestSchema,
} from "../examples/grpc/gen/echo_pb.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** What `deno task serve` needs of a checkout: no tools/, no tests. */
const CHECKOUT = [
  "cli.ts",
  "mod.ts",
  "deno.json",
  "deno.lock",
  "src",
  "examples/grpc",
];

async function copy(from: string, to: string): Promise<void> {
  const info = await Deno.lstat(from);
  if (info.isDirectory) {
    await Deno.mkdir(to, { recursive: true });
    for await (const entry of Deno.readDir(from)) {
      await copy(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
  } else if (info.isFile) {
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(from, to);
  }
}

function say(port: number, text: string): Promise<EchoReply> {
  const client = new grpc.Client(
    `localhost:${port}`,
    grpc.credentials.createInsecure(),
  );
  return new Promise<EchoReply>((resolve, reject) => {
    client.makeUnaryRequest(
      "/echo.v1.Echo/Say",
      (req: unknown) =>
        Buffer.from(
          toBinary(EchoRequestSchema, create(EchoRequestSchema, req as never)),
        ),
      (bytes: Buffer) => fromBinary(EchoReplySchema, bytes),
      { text },
      (err, reply) => (err || !reply ? reject(err) : resolve(reply)),
    );
  }).finally(() => client.close());
}

Deno.test("plain Deno: a checkout without tools/deno/node_modules serves examples/grpc", async () => {
  const checkout = await Deno.makeTempDir({ prefix: "cortex-plain-deno-" });
  try {
    for (const path of CHECKOUT) {
      await copy(`${ROOT}${path}`, `${checkout}/${path}`);
    }
    await assert.rejects(Deno.stat(`${checkout}/tools`), Deno.errors.NotFound);
    await withServer(
      "examples/grpc",
      { checkout, readyTimeoutMs: 120_000 },
      async ({ grpcPort }) => {
        const reply = await say(grpcPort, "plain");
        assert.equal(reply.text, "echo: plain");
      },
    );
  } finally {
    await Deno.remove(checkout, { recursive: true });
  }
});
