/**
 * A gRPC client that opens a server-streaming call and never reads, against
 * a handler that yields 64 KiB messages as fast as it can. grpc-js cannot
 * send past the client's HTTP/2 window; before flow control, the responses
 * piled up in the gRPC process and the serving process (~70 MiB each in
 * 5 s, then the serving process died, dropping every call). Now the replica
 * pulls its handler's next message only while the call holds credit
 * (`GRPC_STREAM_WINDOW_BYTES`), so neither process grows.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "./_server.ts";
import { RssPeak } from "./_memory.ts";
import {
  E2eClient,
  grpcProcess,
  registryOf,
  servingProcess,
} from "./fixtures/grpc_support/client.ts";

const PROJECT = fixture("grpc_e2e");
/** Under the server's initial HTTP/2 window, so the request goes whole. */
const MESSAGE_BYTES = 48 * 1024;
const ATTACK_MS = 5_000;
/** Growth in MiB either process may show; without flow control it is ~70. */
const BOUND_MIB = 24;
const FRAME_BYTES = 16_384;

function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Uint8Array,
) {
  const f = new Uint8Array(9 + payload.length);
  const v = new DataView(f.buffer);
  v.setUint32(0, payload.length << 8); // 24-bit length, then the type
  f[3] = type;
  f[4] = flags;
  v.setUint32(5, stream);
  f.set(payload, 9);
  return f;
}

/** A header as an HPACK literal without indexing (names, values < 127 bytes). */
function literal(name: string, value: string): number[] {
  const n = new TextEncoder().encode(name);
  const v = new TextEncoder().encode(value);
  return [0, n.length, ...n, v.length, ...v];
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/**
 * What a client that never reads sends: the HTTP/2 preface and a `Repeat`
 * call with `e2e.v1.Req { data: 48 KiB, repeat: 2^31 - 1 }`, an endless
 * flood of 48 KiB responses. It never sends a WINDOW_UPDATE.
 */
function floodCall(): Uint8Array {
  const headers = new Uint8Array([
    ...literal(":method", "POST"),
    ...literal(":scheme", "http"),
    ...literal(":path", "/e2e.v1.E2e/Repeat"),
    ...literal(":authority", "127.0.0.1"),
    ...literal("content-type", "application/grpc"),
    ...literal("te", "trailers"),
  ]);
  const req = [
    0x12,
    ...varint(MESSAGE_BYTES),
    ...new Uint8Array(MESSAGE_BYTES).fill(0x78),
    0x20,
    ...varint(0x7fffffff),
  ];
  const body = new Uint8Array(5 + req.length);
  new DataView(body.buffer).setUint32(1, req.length);
  body.set(req, 5);
  const parts = [
    new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    frame(4, 0, 0, new Uint8Array()), // SETTINGS
    frame(4, 1, 0, new Uint8Array()), // SETTINGS ack (of the server's)
    frame(1, 4, 1, headers), // HEADERS, END_HEADERS
  ];
  for (let at = 0; at < body.length; at += FRAME_BYTES) {
    const last = at + FRAME_BYTES >= body.length;
    parts.push(frame(0, last ? 1 : 0, 1, body.subarray(at, at + FRAME_BYTES)));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("gRPC: a server stream to a client that never reads keeps the gRPC and serving processes bounded", async () => {
  const registry = await registryOf(PROJECT, "e2e.proto");
  await withServer(PROJECT, {}, async ({ grpcPort, pid }) => {
    const grpc = await RssPeak.start(await grpcProcess(pid));
    const serving = await RssPeak.start(await servingProcess(pid));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: grpcPort });
    try {
      await conn.write(floodCall());
      await new Promise((r) => setTimeout(r, ATTACK_MS));
      const grpcGrowth = await grpc.stop();
      const servingGrowth = await serving.stop();
      // deno-lint-ignore no-console
      console.log(
        `RSS growth over ${ATTACK_MS} ms: gRPC process ${grpcGrowth} MiB, serving process ${servingGrowth} MiB`,
      );
      assert.ok(
        grpcGrowth < BOUND_MIB,
        `the gRPC process grew by ${grpcGrowth} MiB (bound ${BOUND_MIB})`,
      );
      assert.ok(
        servingGrowth < BOUND_MIB,
        `the serving process grew by ${servingGrowth} MiB (bound ${BOUND_MIB})`,
      );
      // Others are still served while the flood holds its call open, and a
      // fast reader gets every message, in order.
      const client = new E2eClient(grpcPort, registry, "e2e.v1.E2e");
      try {
        const out = await client.serverStream("Repeat", {
          text: "fast",
          data: new Uint8Array(1024),
          repeat: 2_000,
        });
        assert.equal(out.length, 2_000);
        assert.deepEqual(out.map((m) => m.index), [...out.keys()]);
      } finally {
        client.close();
      }
    } finally {
      conn.close();
    }
  });
});
