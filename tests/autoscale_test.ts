/**
 * The contract "Replicas and autoscaling", end to end over real sockets against
 * `cortex serve`: the pool grows under load and shrinks after it, requests
 * beyond the admission limit get 503 + Retry-After, and requests beyond a
 * replica's slots queue.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import { attempt, loadLoops, pollUntil, scrape, tally } from "./_metrics.ts";

const api = (name: string) => ({ api: name });

Deno.test("autoscale: a slow API grows replicas under load and shrinks back to min after it", async () => {
  await withServer(
    fixture("autoscale"),
    { args: ["--max-replicas-per-api", "3"] },
    async ({ url, waitForLine }) => {
      const before = await scrape(url);
      assert.equal(before.get("cortex_replicas", api("slow")), 1);
      assert.equal(before.get("cortex_desired_replicas", api("slow")), 1);
      const upBefore = before.get("cortex_autoscaler_decisions_total", {
        api: "slow",
        direction: "up",
      });

      // 6 clients back to back on a 300 ms handler: ~6 in flight, target 1.
      const load = loadLoops(6, () => `${url}/slow`);
      let peak = 1;
      try {
        await pollUntil("3 ready replicas under load", 20_000, async () => {
          const m = await scrape(url);
          peak = Math.max(peak, m.get("cortex_replicas", api("slow")));
          return m.get("cortex_desired_replicas", api("slow")) === 3 &&
            m.get("cortex_replicas", api("slow")) === 3;
        }, 200);

        // New connections are spread over the replicas' listeners (reusePort).
        const seen = new Set<string>();
        for (let i = 0; i < 30 && seen.size < 2; i++) {
          const client = Deno.createHttpClient({});
          try {
            const res = await fetch(`${url}/slow`, { client });
            seen.add((await res.json()).replica);
          } finally {
            client.close();
          }
        }
        assert.ok(seen.size >= 2, `new connections reached only ${[...seen]}`);
      } finally {
        const outcomes = await load.stop();
        // Scaling up drops nothing: every request of the load succeeded.
        assert.deepEqual(tally(outcomes), { 200: outcomes.length });
      }
      const scaled = await waitForLine((l: LogLine) =>
        /^Scaling API "slow" from 1 to 2 replicas/.test(String(l.message))
      );
      assert.match(String(scaled.reason), /scale up 1 -> 2: avg in-flight/);

      // Load stopped: the window empties, the stabilisation period passes,
      // and the pool drains back to min_replicas.
      const after = await pollUntil("back to 1 replica", 25_000, async () => {
        const m = await scrape(url);
        return m.get("cortex_desired_replicas", api("slow")) === 1 &&
          m.get("cortex_replicas", api("slow")) === 1 && m;
      }, 250);
      assert.ok(
        after.get("cortex_autoscaler_decisions_total", {
          api: "slow",
          direction: "up",
        }) >= upBefore + 2,
        after.text,
      );
      assert.ok(
        after.get("cortex_autoscaler_decisions_total", {
          api: "slow",
          direction: "down",
        }) >= 1,
      );
      assert.equal(after.get("cortex_in_flight_requests", api("slow")), 0);
      assert.equal(after.get("cortex_replica_restarts_total", api("slow")), 0);
      // The limit follows the ready replicas: 1 × max_replica_concurrency.
      assert.equal(after.get("cortex_admission_limit", api("slow")), 64);
      await waitForLine((l) =>
        /^Scaling API "slow" from \d to 1 replicas/.test(String(l.message))
      );

      // Still serving after the scale-down.
      const res = await fetch(`${url}/slow`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    },
  );
});

Deno.test("autoscale: overload answers 200 or 503 with Retry-After, and /metrics counts the 503s", async () => {
  await withServer(fixture("overload"), {}, async ({ url }) => {
    // max_replica_concurrency 2 on one replica, handler takes 500 ms.
    const outcomes = await Promise.all(
      Array.from(
        { length: 12 },
        () =>
          attempt(`${url}/overload`, { signal: AbortSignal.timeout(15_000) }),
      ),
    );
    const counts = tally(outcomes);
    assert.deepEqual(
      Object.keys(counts).sort(),
      ["200", "503"],
      JSON.stringify(counts),
    );
    assert.ok(counts[200]! >= 2, JSON.stringify(counts));
    assert.ok(counts[503]! >= 6, JSON.stringify(counts));
    for (const o of outcomes.filter((o) => o.status === 503)) {
      assert.equal(o.headers?.get("retry-after"), "1");
      assert.match(JSON.parse(o.body).error, /concurrency and queue limit/);
      // Refused at once, not after waiting.
      assert.ok(
        o.at - o.startedAt < 400,
        `a 503 took ${o.at - o.startedAt} ms`,
      );
    }
    const m = await scrape(url);
    assert.equal(
      m.get("cortex_rejected_requests_total", {
        ...api("overload"),
        reason: "overloaded",
      }),
      counts[503],
    );
    assert.equal(
      m.get("cortex_requests_total", { api: "overload", status: "503" }),
      counts[503],
    );
    assert.equal(
      m.get("cortex_requests_total", { api: "overload", status: "200" }),
      counts[200],
    );
    assert.equal(m.get("cortex_admission_limit", api("overload")), 2);
    assert.equal(m.get("cortex_in_flight_requests", api("overload")), 0);

    // Once the load is gone the API admits again.
    const ok = await attempt(`${url}/overload`);
    assert.equal(ok.status, 200);
  });
});

Deno.test("autoscale: beyond threads_per_process requests queue (FIFO, one at a time) up to max_replica_concurrency", async () => {
  await withServer(fixture("queueing"), {}, async ({ url }) => {
    const warm = await attempt(`${url}/queueing`);
    assert.equal(warm.status, 200);

    const started = Date.now();
    const requests = Array.from(
      { length: 4 },
      () => attempt(`${url}/queueing`, { signal: AbortSignal.timeout(15_000) }),
    );
    // While they wait, the queue shows on /metrics.
    const waiting = await pollUntil(
      "cortex_queued_requests > 0",
      5_000,
      async () => {
        const m = await scrape(url);
        return m.get("cortex_queued_requests", api("queueing")) > 0 && m;
      },
      20,
    );
    assert.ok(waiting.get("cortex_in_flight_requests", api("queueing")) >= 2);
    const outcomes = await Promise.all(requests);
    const elapsed = Date.now() - started;
    assert.deepEqual(tally(outcomes), { 200: 4 });
    const bodies = outcomes.map((o) => JSON.parse(o.body)).sort((a, b) =>
      a.started - b.started
    );
    // Serialised: never two handler calls at once, and ~4 × 200 ms in total.
    assert.ok(bodies.every((b) => b.maxRunning === 1), JSON.stringify(bodies));
    for (let i = 1; i < bodies.length; i++) {
      assert.ok(
        bodies[i].started >= bodies[i - 1].ended - 5,
        JSON.stringify(bodies),
      );
    }
    assert.ok(elapsed >= 750, `4 queued 200 ms calls took only ${elapsed} ms`);
    assert.ok(elapsed < 3_000, `4 queued 200 ms calls took ${elapsed} ms`);

    const idle = await scrape(url);
    assert.equal(idle.get("cortex_queued_requests", api("queueing")), 0);
    assert.equal(idle.get("cortex_in_flight_requests", api("queueing")), 0);

    // A fifth concurrent request is beyond max_replica_concurrency (4): 503.
    const five = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          attempt(`${url}/queueing`, { signal: AbortSignal.timeout(15_000) }),
      ),
    );
    assert.deepEqual(tally(five), { 200: 4, 503: 1 });
  });
});
