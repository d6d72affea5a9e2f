/**
 * Scaling up helps clients that are already connected: keep-alive
 * connections stay on the replica that accepted them, so a replica with no
 * free slot hands the request to one that has one.
 */

import assert from "node:assert/strict";
import { CortexClient } from "../mod.ts";
import { fixture, withServer } from "./_server.ts";
import { pollUntil, scrape } from "./_metrics.ts";

const TOKEN = "rebalance-test-token-0123456789";
const HANDLER_MS = 200;

/** 8 clients on kept-alive connections, back to back, for `ms`. */
async function run(url: string, client: Deno.HttpClient, ms: number) {
  const latencies: number[] = [];
  const replicas = new Set<string>();
  const until = Date.now() + ms;
  let failed = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (Date.now() < until) {
      const t0 = performance.now();
      const res = await fetch(`${url}/slow`, { client });
      if (res.status !== 200) {
        failed++;
        await res.body?.cancel();
        continue;
      }
      replicas.add((await res.json()).replica);
      latencies.push(performance.now() - t0);
    }
  }));
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / (ms / 1000),
    p50: latencies[Math.floor(latencies.length / 2)] ?? Infinity,
    replicas,
    failed,
  };
}

Deno.test("rebalance: after 1 -> 4 replicas, kept-alive clients get 4 replicas' throughput", async () => {
  await withServer(fixture("keepalive_scale"), {
    env: { CORTEX_CONTROL_TOKEN: TOKEN },
  }, async (s) => {
    // One HTTP client: its connections are opened while one replica listens.
    const client = Deno.createHttpClient({});
    try {
      const before = await run(s.url, client, 2_000);
      assert.equal(before.failed, 0);
      assert.deepEqual([...before.replicas].length, 1);

      const port = s.lines().find((l) => typeof l.controlPort === "number")
        ?.controlPort;
      const control = new CortexClient({
        url: `http://127.0.0.1:${port}`,
        token: TOKEN,
      });
      await control.patch("slow", { autoscaling: { min_replicas: 4 } });
      await pollUntil(
        "4 ready replicas",
        20_000,
        async () =>
          (await scrape(s.url)).get("cortex_replicas", { api: "slow" }) === 4,
      );

      const handed = async () =>
        (await scrape(s.url)).get("cortex_handed_off_requests_total", {
          api: "slow",
        });
      const h0 = await handed();
      const after = await run(s.url, client, 3_000);
      const h1 = await handed();
      // Meanwhile the busy replica asked clients to reconnect: their new
      // connections spread over the listeners, and throughput holds.
      const later = await run(s.url, client, 3_000);
      // 4 replicas x 2 slots / 200 ms = 40 requests/s at most.
      const capacity = 4 * 2 * (1000 / HANDLER_MS);
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `keep-alive scale-up: before ${
            before.perSecond.toFixed(1)
          } req/s p50 ${before.p50.toFixed(0)} ms; after ${
            after.perSecond.toFixed(1)
          } req/s (${
            Math.round(after.perSecond / capacity * 100)
          }% of ${capacity}) p50 ${
            after.p50.toFixed(0)
          } ms on ${after.replicas.size} replicas\n`,
        ),
      );
      assert.equal(after.failed + later.failed, 0);
      assert.ok(after.perSecond >= 0.7 * capacity, `${after.perSecond} req/s`);
      assert.ok(later.perSecond >= 0.7 * capacity, `${later.perSecond} req/s`);
      assert.ok(h1 - h0 > 0, "the busy replica handed requests on");
      const m = await scrape(s.url);
      assert.ok(m.get("cortex_reconnects_asked_total", { api: "slow" }) > 0);
      assert.ok(after.p50 <= 1.75 * HANDLER_MS, `p50 ${after.p50} ms`);
      assert.equal(after.replicas.size, 4);
    } finally {
      client.close();
    }
  });
});
