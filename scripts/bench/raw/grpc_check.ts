/**
 * Calls bench.v1.Echo/Say once (retrying until the server answers) and
 * prints `{"ok": true, "text": ...}` or `{"ok": false, "error": ...}`. The
 * bench uses it to check that a gRPC server answers correctly, since h2load
 * sees only HTTP statuses, not grpc-status.
 *
 * Usage: deno run --allow-net --allow-env --allow-read --allow-sys raw/grpc_check.ts PORT TEXT [TIMEOUT_MS]
 *
 * @module
 */

import { Client, credentials } from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import {
  type EchoReply,
  EchoReplySchema,
  EchoRequestSchema,
} from "../projects/grpc_echo/gen/echo_pb.ts";

const [port, text = "check", timeout = "15000"] = Deno.args;
const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());

function call(): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/bench.v1.Echo/Say",
      (m: unknown) =>
        Buffer.from(
          toBinary(
            EchoRequestSchema,
            create(EchoRequestSchema, m as { text: string }),
          ),
        ),
      (b: Buffer) => fromBinary(EchoReplySchema, b),
      { text },
      { deadline: Date.now() + 2_000 },
      (error, reply) => error ? reject(error) : resolve(reply!),
    );
  });
}

const deadline = Date.now() + Number(timeout);
let result: Record<string, unknown> = { ok: false, error: "no attempt" };
while (Date.now() < deadline) {
  try {
    const reply = await call();
    result = { ok: reply.text === text, text: reply.text };
    break;
  } catch (error) {
    result = { ok: false, error: (error as Error).message };
    await new Promise((r) => setTimeout(r, 50));
  }
}
client.close();
Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(result) + "\n"));
Deno.exit(result.ok ? 0 : 1);
