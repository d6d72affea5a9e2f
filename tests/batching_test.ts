/**
 * Server-side batching end to end: `cortex serve` on a fixture project,
 * requests over real sockets (HTTP with fetch, gRPC with @grpc/grpc-js).
 */

import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { fixture, withServer } from "./_server.ts";
import { E2eClient, registryOf } from "./fixtures/grpc_support/client.ts";

const PROJECT = fixture("batching");

Deno.test("batching e2e: HTTP and gRPC requests are batched and answered one by one", async (t) => {
  const registry = await registryOf(PROJECT, "batch.proto");
  await withServer(PROJECT, {}, async ({ url, grpcPort, lines }) => {
    const post = (body: unknown) =>
      fetch(`${url}/batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    await t.step("64 concurrent clients get their own results", async () => {
      const ids = Array.from(
        { length: 64 },
        (_, i) => `c${i}-${crypto.randomUUID()}`,
      );
      const answers = await Promise.all(ids.map(async (id) => {
        const res = await post({ id });
        assert.equal(res.status, 200);
        return {
          body: await res.json(),
          requestId: res.headers.get("x-request-id"),
        };
      }));
      answers.forEach((a, i) => {
        assert.equal(a.body.id, ids[i]);
        assert.equal(a.body.requestId, a.requestId);
      });
      const sizes = answers.map((a) => a.body.size as number);
      assert.ok(sizes.every((s) => s >= 1 && s <= 16));
      assert.ok(Math.max(...sizes) > 1, `batch sizes ${sizes}`);
    });

    await t.step("a per-item error fails only its request", async () => {
      const [good, bad] = await Promise.all([
        post({ id: "good" }),
        post({ id: "bad", fail: true }),
      ]);
      assert.equal(good.status, 200);
      assert.equal((await good.json()).id, "good");
      assert.equal(bad.status, 422);
      assert.match(await bad.text(), /item bad is unacceptable/);
    });

    await t.step(
      "a wrong-length return fails the whole batch with a 500 saying why",
      async () => {
        const res = await Promise.all([
          post({ id: "a" }),
          post({ id: "b", wrong: true }),
        ]);
        for (const r of res) {
          assert.equal(r.status, 500);
          assert.match(
            await r.text(),
            /handlePost of API \\"batch\\" returned an array of \d+ for a batch of \d+ requests/,
          );
        }
      },
    );

    await t.step("GET is not batched", async () => {
      const res = await fetch(`${url}/batch`);
      assert.deepEqual(await res.json(), { ok: true });
    });

    await t.step(
      "gRPC unary calls are batched, with per-item statuses",
      async () => {
        const client = new E2eClient(grpcPort, registry, "batch.v1.Batch");
        try {
          const texts = Array.from({ length: 32 }, (_, i) => `m${i}`);
          const calls = texts.map((text) => client.unary("Echo", { text }));
          const missing = client.unary("Echo", { text: "missing" }).then(
            () => null,
            (e: grpc.ServiceError) => e,
          );
          const results = await Promise.all(calls);
          results.forEach((r, i) =>
            assert.equal(r.message.text, texts[i]!.toUpperCase())
          );
          const sizes = results.map((r) => r.message.size as number);
          assert.ok(Math.max(...sizes) > 1, `gRPC batch sizes ${sizes}`);
          const err = await missing;
          assert.equal(err?.code, grpc.status.NOT_FOUND);
        } finally {
          client.close();
        }
      },
    );

    await t.step("metrics and access lines show the batches", async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      assert.match(text, /cortex_batch_size_count\{api="batch"\} [1-9]/);
      assert.match(
        text,
        /cortex_batch_wait_seconds_count\{api="batch"\} [1-9]/,
      );
      assert.match(text, /cortex_batch_size_count\{api="batch-grpc"\} [1-9]/);
      const access = lines().find((l) =>
        l.method === "POST" && typeof l.batchSize === "number"
      );
      assert.ok(access, "an access line with batchSize");
    });
  });
});
