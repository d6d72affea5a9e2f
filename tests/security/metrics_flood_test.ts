/**
 * A hostile handler records thousands of custom series no other replica
 * shares, lets `/metrics` (open by default) pull them, and crashes its
 * replica; a new one does the same. The serving process kept every ended
 * replica's last snapshot and merged all of them on every scrape: in 60 s,
 * 26 such replicas of 10,000 series made `/metrics` 35 MB, took 3.7 s to
 * render, and held every other API's requests for as long (2.3 s for one);
 * it grows until the serving process's stalls get healthy replicas killed
 * as hung. Now ended replicas are summed per API with at most 10,000 custom
 * series (src/metrics/retired_stats.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "../_server.ts";
import { pollUntil, scrape } from "../_metrics.ts";

const REPLICAS = 4;
const SERIES = 4_000;

Deno.test("security: custom series of crashed replicas are summed and bounded, counters still count them", async () => {
  await withServer(fixture("hostile_metrics"), {}, async ({ url }) => {
    const api = { api: "hostile" };
    for (let round = 0; round < REPLICAS; round++) {
      const res = await fetch(`${url}/hostile?series=${SERIES}`);
      const { pid } = await res.json();
      // The scrape pulls the replica's series into the serving process.
      const m = await scrape(url, 10_000);
      assert.ok(m.all("bomb_total", api).length >= SERIES);
      await (await fetch(`${url}/hostile?crash`)).body?.cancel();
      await pollUntil("a new replica", 30_000, async () => {
        const next = await fetch(`${url}/hostile`).catch(() => null);
        if (next?.status !== 200) {
          await next?.body?.cancel();
          return false;
        }
        return (await next.json()).pid !== pid;
      }, 200);
    }
    const m = await scrape(url, 10_000);
    const kept = m.all("bomb_total", api).length;
    assert.ok(
      kept <= 10_000,
      `/metrics holds ${kept} series of ${REPLICAS} ended replicas (${REPLICAS} x ${SERIES} recorded)`,
    );
    // Their counters still count: one job per ended replica.
    assert.equal(m.get("jobs_total", api), REPLICAS);
  });
});
