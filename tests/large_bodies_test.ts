/**
 * Legitimate large bodies end to end, now that a large answer crosses the
 * replica socket in chunks with credit-based flow control (and chained
 * request bodies are bounded per replica): a 50 MiB answer routed by the
 * serving process, through a chained call, and on a replica's own listener;
 * a 20 MiB chained request body; and a client that reads slowly makes the
 * serving process hold a few chunks, not the answer.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "./_server.ts";
import { RssPeak, servingPidOf } from "./_memory.ts";

const BIG = fixture("big_bodies");
const MIB = 1 << 20;

function note(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`${text}\n`));
}

/** Byte i of the fixture's pattern is i % 251 (checked every 4 KiB and at the end). */
function assertPattern(bytes: Uint8Array, length: number): void {
  assert.equal(bytes.length, length);
  for (let i = 0; i < length; i += 4093) {
    if (bytes[i] !== i % 251) assert.fail(`byte ${i} is ${bytes[i]}`);
  }
  assert.equal(bytes[length - 1], (length - 1) % 251);
}

async function getBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  assert.equal(res.status, 200, await res.clone().text().catch(() => ""));
  // Sent in chunks across processes, but its length is known.
  assert.equal(res.headers.get("content-length"), String(50 * MIB));
  return new Uint8Array(await res.arrayBuffer());
}

Deno.test("large bodies: a 50 MiB answer routed, through a chained call, and a 20 MiB chained request body", async () => {
  await withServer(BIG, {}, async ({ url }) => {
    assertPattern(await getBytes(`${url}/big?mb=50`), 50 * MIB);
    assertPattern(await getBytes(`${url}/big?chain=get&mb=50`), 50 * MIB);
    const res = await fetch(`${url}/big?chain=post&mb=20`);
    const body = await res.json();
    let sum = 0;
    for (let i = 0; i < 20 * MIB; i += 4096) sum = (sum + i % 251) % 1e9;
    assert.deepEqual(body, {
      status: 200,
      answer: { bytes: 20 * MIB, sum },
    });
  });
});

Deno.test("large bodies: a 50 MiB answer on the replica's own listener", async () => {
  await withServer(BIG, { args: ["--api", "big"] }, async ({ url }) => {
    assertPattern(await getBytes(`${url}/big?mb=50`), 50 * MIB);
  });
});

Deno.test("large bodies: a client that reads a routed 50 MiB answer slowly makes the serving process hold a few chunks, not the answer", async () => {
  await withServer(BIG, {}, async ({ port, pid }) => {
    const serving = await servingPidOf(pid);
    const peak = await RssPeak.start(serving);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(
      new TextEncoder().encode(
        "GET /big?mb=50 HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
      ),
    );
    const buf = new Uint8Array(64 * 1024);
    const first = await conn.read(buf);
    assert.ok(first !== null);
    const head = new TextDecoder().decode(buf.subarray(0, first));
    assert.match(head, /^HTTP\/1\.1 200 /);
    // The client pauses: only socket buffers and a few chunks may pile up.
    await new Promise((r) => setTimeout(r, 2_000));
    const grew = await peak.stop();
    let total = first - (head.indexOf("\r\n\r\n") + 4);
    const chunked = /transfer-encoding: chunked/i.test(head);
    let n;
    while ((n = await conn.read(buf)) !== null) total += n;
    conn.close();
    note(
      `slow client of a routed 50 MiB answer: serving process grew ${grew} MiB while it paused`,
    );
    // The whole answer arrived (chunked framing adds a few bytes a chunk).
    assert.ok(
      chunked ? total >= 50 * MIB : total === 50 * MIB,
      `${total} bytes`,
    );
    assert.ok(grew < 32, `the serving process grew by ${grew} MiB`);
  });
});
