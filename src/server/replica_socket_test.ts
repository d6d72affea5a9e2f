import assert from "node:assert/strict";
import { serialize } from "node:v8";
import { encodeFrame, FrameTooLarge } from "../grpc/common/frames.ts";
import { MIN_FRAME_BYTES, replicaFrameLimit } from "../wire/channel_limits.ts";
import { ReplicaSocket } from "./replica_socket.ts";

/** A replica's end of the socket, past its hello. */
async function connected(limit: () => number) {
  const dir = await Deno.makeTempDir();
  const socket = ReplicaSocket.open(`${dir}/r.sock`);
  socket.limitFrames(limit);
  const { nonce, conn } = socket.expect();
  const client = await Deno.connect({
    transport: "unix",
    path: `${dir}/r.sock`,
  });
  await client.write(encodeFrame([{ type: "hello", nonce }]));
  const accepted = await conn;
  return {
    client,
    accepted,
    async close() {
      try {
        client.close();
      } catch { /* closed */ }
      socket.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("replica socket: a frame announcing more than the limit fails the channel at its length word, before it is buffered", async () => {
  const limit = replicaFrameLimit(32 << 20);
  const c = await connected(() => limit);
  const got: unknown[] = [];
  const read = c.accepted.read((m) => got.push(m));
  // A legitimate message first, then the start of a 1 GiB "http.response".
  await c.client.write(encodeFrame([{ type: "load" }]));
  while (got.length < 1) await new Promise((r) => setTimeout(r, 5));
  const start = serialize([{ type: "http.response", id: 1, res: {} }]);
  const head = new Uint8Array(4 + start.length);
  new DataView(head.buffer).setUint32(0, 0x3fff_ffff);
  head.set(start, 4);
  await c.client.write(head);
  await assert.rejects(
    read,
    (e: unknown) =>
      e instanceof FrameTooLarge &&
      e.message ===
        `sent a frame of 1073741823 bytes (a "http.response" message), over the limit of ${limit} bytes`,
  );
  assert.deepEqual(got, [{ type: "load" }]);
  await c.close();
});

Deno.test("replica socket: frames up to the limit pass; the limit follows the configuration", async () => {
  let largest = 0;
  const c = await connected(() => replicaFrameLimit(largest));
  const got: unknown[] = [];
  const read = c.accepted.read((m) => got.push(m));
  // Over MIN_FRAME_BYTES: allowed once an API takes bodies that large.
  const body = new Uint8Array(MIN_FRAME_BYTES + 1024);
  largest = body.length;
  const frame = encodeFrame([{ type: "forward.request", body }]);
  let at = 0;
  while (at < frame.length) at += await c.client.write(frame.subarray(at));
  await c.client.write(encodeFrame([{ type: "drained" }]));
  while (got.length < 2) await new Promise((r) => setTimeout(r, 10));
  assert.equal((got[0] as { body: Uint8Array }).body.length, body.length);
  c.client.close();
  await read;
  await c.close();
});
