/**
 * One body limit on every path: a body is checked against the limit of the
 * API it is for, declared (Content-Length) and streamed (chunked), wherever
 * it lands; /healthz and /metrics take none.
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "./_server.ts";

/** A chunked body of `total` bytes, sent in 64 KiB pieces. */
function chunked(total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(64 * 1024, total - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(97));
    },
  });
}

async function post(
  url: string,
  body: BodyInit,
  type = "application/octet-stream",
) {
  const res = await fetch(url, {
    method: "POST",
    body,
    headers: { "content-type": type },
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, text: await res.text() };
}

Deno.test("body limits: the serving process enforces the target API's limit, declared and streamed", async () => {
  await withServer(fixture("limits_pair"), {}, async ({ url }) => {
    const declared = await post(
      `${url}/small`,
      new Uint8Array(2 * 1024 * 1024),
    );
    assert.equal(declared.status, 413, declared.text);
    assert.match(
      declared.text,
      /limit of 1048576 bytes \(handler.max_body_size/,
    );
    const streamed = await post(`${url}/small`, chunked(3 * 1024 * 1024));
    assert.equal(streamed.status, 413, streamed.text);
    const fits = await post(`${url}/small`, new Uint8Array(512 * 1024));
    assert.equal(fits.status, 200);
    assert.equal(JSON.parse(fits.text).size, 512 * 1024);
    // The other API's limit is its own (32 MiB by default).
    const other = await post(`${url}/other`, chunked(3 * 1024 * 1024));
    assert.equal(other.status, 200, other.text);
  });
});

Deno.test("body limits: /healthz and /metrics never read a body, on a replica's listener or the serving process's", async () => {
  for (const project of ["limits_pair", "hostile_alone"]) {
    await withServer(fixture(project), {}, async ({ url }) => {
      for (const path of ["/healthz", "/metrics"]) {
        const declared = await post(
          `${url}${path}`,
          new Uint8Array(8 * 1024 * 1024),
        );
        assert.equal(
          declared.status,
          413,
          `${project} ${path}: ${declared.text}`,
        );
        // A streamed body is ignored unread: answered, not buffered.
        const streamed = await post(`${url}${path}`, chunked(64 * 1024 * 1024));
        assert.ok(
          streamed.status === 200 || streamed.status === 413,
          `${project} ${path}: ${streamed.status}`,
        );
      }
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    });
  }
});
