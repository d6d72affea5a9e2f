/**
 * The contract "Endpoints of a running server": `GET /metrics` in Prometheus
 * text format, with per-API in-flight, queue, replicas (current and desired),
 * requests by status class, latency histograms, 503s, restarts, autoscaler
 * decisions, and the handlers' own metrics (`ctx.metrics`).
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "./_server.ts";
import { attempt, pollUntil, scrape } from "./_metrics.ts";

const api = { api: "metered" };

Deno.test("metrics: /metrics exposes the runtime's per-API series and the handler's own", async () => {
  await withServer(fixture("metrics"), {}, async ({ url }) => {
    for (const kind of ["a", "a", "a", "b", "b"]) {
      const o = await attempt(
        `${url}/metered?kind=${kind}&temp=${kind === "a" ? 20 : 23.5}&size=0.3`,
      );
      assert.equal(o.status, 200);
    }
    assert.equal((await attempt(`${url}/metered?status=404`)).status, 404);
    assert.equal((await attempt(`${url}/metered?status=500`)).status, 500);

    // A "cortex_" name is refused with an error the handler sees.
    const reserved = JSON.parse(
      (await attempt(`${url}/metered?reserved=1`)).body,
    );
    assert.equal(reserved.name, "TypeError");
    assert.match(
      reserved.error,
      /"cortex_requests_total".*"cortex_" prefix is reserved/,
    );

    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(
      res.headers.get("content-type") ?? "",
      /^text\/plain; version=0\.0\.4/,
    );
    await res.body?.cancel();

    // Autoscaler ticks every 200 ms: wait for a few decisions.
    const m = await pollUntil("autoscaler decisions", 5_000, async () => {
      const m = await scrape(url);
      return m.get("cortex_autoscaler_decisions_total", {
            ...api,
            direction: "hold",
          }) >= 2 && m;
    });
    // Every series is declared once with HELP and TYPE before its samples.
    const declared = new Set<string>();
    for (const line of m.text.split("\n")) {
      const t = /^# TYPE (\S+) (gauge|counter|histogram)$/.exec(line);
      if (t) {
        assert.ok(!declared.has(t[1]!), `${t[1]} declared twice`);
        declared.add(t[1]!);
      }
    }
    for (const s of m.samples) {
      const base = s.name.replace(/_(bucket|sum|count)$/, "");
      assert.ok(
        declared.has(s.name) || declared.has(base),
        `${s.name} has no TYPE`,
      );
    }

    assert.equal(m.get("cortex_in_flight_requests", api), 0);
    assert.equal(m.get("cortex_queued_requests", api), 0);
    assert.equal(m.get("cortex_replicas", api), 1);
    assert.equal(m.get("cortex_desired_replicas", api), 1);
    assert.equal(m.get("cortex_admission_limit", api), 1024);
    assert.equal(
      m.get("cortex_rejected_requests_total", {
        ...api,
        reason: "overloaded",
      }),
      0,
    );
    assert.equal(m.get("cortex_replica_restarts_total", api), 0);
    assert.equal(
      m.get("cortex_autoscaler_decisions_total", { ...api, direction: "up" }),
      0,
    );
    assert.equal(
      m.get("cortex_autoscaler_decisions_total", { ...api, direction: "down" }),
      0,
    );

    // Requests by status and class (the reserved-name call answered 200).
    assert.equal(
      m.get("cortex_requests_total", {
        ...api,
        status: "200",
        status_class: "2xx",
      }),
      6,
    );
    assert.equal(
      m.get("cortex_requests_total", {
        ...api,
        status: "404",
        status_class: "4xx",
      }),
      1,
    );
    assert.equal(
      m.get("cortex_requests_total", {
        ...api,
        status: "500",
        status_class: "5xx",
      }),
      1,
    );

    // Latency histogram: cumulative buckets, +Inf = count, a sum.
    const buckets = m.all("cortex_request_duration_seconds_bucket", {
      ...api,
      status: "200",
    });
    assert.ok(buckets.length >= 10);
    const values = buckets.map((b) => b.value);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => a - b),
      "buckets are not cumulative",
    );
    assert.equal(buckets.at(-1)!.labels.le, "+Inf");
    assert.equal(buckets.at(-1)!.value, 6);
    assert.equal(
      m.get("cortex_request_duration_seconds_count", { ...api, status: "200" }),
      6,
    );
    assert.ok(
      m.get("cortex_request_duration_seconds_sum", { ...api, status: "200" }) >
        0,
    );

    // Handler metrics: counter by tag, gauge (last value), histogram.
    assert.equal(m.get("app_handled_total", { ...api, kind: "a" }), 3);
    assert.equal(m.get("app_handled_total", { ...api, kind: "b" }), 2);
    assert.equal(m.get("app_temperature", api), 23.5);
    assert.equal(m.get("app_item_size_count", api), 5);
    assert.ok(Math.abs(m.get("app_item_size_sum", api) - 1.5) < 1e-9);
    assert.equal(m.get("app_item_size_bucket", { ...api, le: "0.25" }), 0);
    assert.equal(m.get("app_item_size_bucket", { ...api, le: "0.5" }), 5);
    assert.match(m.text, /# TYPE app_handled_total counter/);
    assert.match(m.text, /# TYPE app_temperature gauge/);
    assert.match(m.text, /# TYPE app_item_size histogram/);
    assert.equal(
      m.all("cortex_requests_total", { ...api, status: "200" }).length,
      1,
    );

    // Counters never go backwards between scrapes.
    await attempt(`${url}/metered?kind=a`);
    const again = await scrape(url);
    assert.equal(
      again.get("cortex_requests_total", { ...api, status: "200" }),
      7,
    );
    assert.equal(again.get("app_handled_total", { ...api, kind: "a" }), 4);
    assert.ok(
      again.get("cortex_autoscaler_decisions_total", {
        ...api,
        direction: "hold",
      }) >=
        m.get("cortex_autoscaler_decisions_total", {
          ...api,
          direction: "hold",
        }),
    );
  });
});
