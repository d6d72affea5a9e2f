import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { withServer } from "../_testing.ts";
import { once } from "./_test_client.ts";

Deno.test("startGrpcServer() serves a unary call through a replica", async () => {
  await withServer(async ({ client, backend }) => {
    const stamp = { at: { seconds: 5n, nanos: 1 }, by: "me" };
    const { message, header } = await client.unary("Unary", {
      text: "hi",
      count: 41n,
      data: new Uint8Array([1, 2, 3]),
      stamp,
    });
    assert.equal(message.text, "HI");
    assert.equal(message.count, 42n);
    assert.deepEqual([...(message.data as Uint8Array)], [1, 2, 3]);
    assert.deepEqual(
      (message.stamp as { at: { seconds: bigint } }).at.seconds,
      5n,
    );
    assert.equal(message.note, "wrapped");
    assert.deepEqual(message.numbers, [1, 2]);
    assert.deepEqual(message.choice, { case: "digit", value: 7 });
    assert.equal(typeof header.get("x-request-id")[0], "string");
    assert.equal(backend.inFlight, 0);
  });
});

Deno.test("startGrpcServer() passes metadata both ways", async () => {
  await withServer(async ({ client }) => {
    const { message, header, trailer } = await client.unary(
      "Unary",
      { text: "metadata" },
      { metadata: { "x-in": "v-in", "x-request-id": "req-7" } },
    );
    assert.equal(message.text, "v-in|req-7");
    assert.deepEqual(header.get("x-header"), ["h1"]);
    assert.deepEqual(header.get("x-request-id"), ["req-7"]);
    assert.deepEqual(trailer.get("x-trailer"), ["t1"]);
  });
});

Deno.test("startGrpcServer() serves client streaming to a lower-case method", async () => {
  await withServer(async ({ client }) => {
    const res = await client.clientStream("ClientStream", [
      { text: "a" },
      { text: "b" },
      { text: "c" },
    ]);
    assert.equal(res.text, "a,b,c");
    assert.equal(res.count, 3n);
  });
});

Deno.test("startGrpcServer() serves server streaming from an async generator", async () => {
  await withServer(async ({ client }) => {
    const res = await client.serverStream("ServerStream", {
      text: "n",
      count: 4n,
    });
    assert.deepEqual(res.map((m) => m.text), ["n-0", "n-1", "n-2", "n-3"]);
  });
});

Deno.test("startGrpcServer() answers each bidi message before the next is sent", async () => {
  await withServer(async ({ client, backend }) => {
    const call = await client.bidi("Bidi");
    const replies: string[] = [];
    for (const text of ["one", "two", "three"]) {
      call.write({ text });
      const reply = await once<Record<string, unknown>>(call, "data");
      replies.push(String(reply.text));
    }
    const status = once<{ code: number }>(call, "status");
    call.end();
    assert.equal((await status).code, 0);
    assert.deepEqual(replies, ["echo:one", "echo:two", "echo:three"]);
    assert.equal(backend.inFlight, 0);
  });
});

Deno.test("startGrpcServer() round-trips an 8 MiB message", async () => {
  await withServer(async ({ client }) => {
    const data = new Uint8Array(8 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = i % 251;
    const { message } = await client.unary("Unary", { text: "big", data });
    const got = message.data as Uint8Array;
    assert.equal(got.length, data.length);
    assert.ok(Buffer.from(got).equals(Buffer.from(data)), "bytes differ");
  });
});

Deno.test("startGrpcServer() serves 100 concurrent calls", async () => {
  await withServer(async ({ client, backend }) => {
    const calls = Array.from(
      { length: 100 },
      (_, i) => client.unary("Unary", { text: `c${i}`, count: BigInt(i) }),
    );
    const results = await Promise.all(calls);
    results.forEach(({ message }, i) => {
      assert.equal(message.text, `C${i}`);
      assert.equal(message.count, BigInt(i) + 1n);
    });
    assert.equal(backend.admitted, 100);
    assert.equal(backend.inFlight, 0);
  });
});
