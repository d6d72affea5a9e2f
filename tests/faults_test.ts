/**
 * DESIGN.md "Replicas and autoscaling": a replica that crashes or hangs is
 * replaced and only the requests it held fail; request timeouts answer 504
 * and abort the handler's signal, as does a client that goes away.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import { attempt, loadLoops, pollUntil, scrape, tally } from "./_metrics.ts";

const FAULTS = fixture("faults");
const api = { api: "faults" };
const msg = (l: LogLine) => String(l.message);

/** Requests on fresh connections, so the kernel spreads them over the replicas. */
async function freshBatch(url: string, n: number) {
  return await Promise.all(Array.from({ length: n }, async () => {
    const client = Deno.createHttpClient({});
    try {
      return await attempt(`${url}/faults?ms=20`, {
        client,
        signal: AbortSignal.timeout(10_000),
      });
    } finally {
      client.close();
    }
  }));
}

Deno.test("faults: a replica that crashes mid-load fails only its own requests and is replaced", async () => {
  await withServer(FAULTS, {}, async ({ url, waitForLine }) => {
    await pollUntil(
      "2 ready replicas",
      15_000,
      async () => (await scrape(url)).get("cortex_replicas", api) === 2,
    );
    const load = loadLoops(4, () => `${url}/faults?ms=100`);
    await pollUntil("load running", 5_000, () => load.outcomes.length >= 8);

    const crashAt = Date.now();
    const crash = await attempt(`${url}/faults?crash=1`, {
      signal: AbortSignal.timeout(15_000),
    });
    // The connection to the dying replica is reset (or it answers 500).
    assert.ok(
      crash.status === null || crash.status === 500,
      JSON.stringify(crash),
    );

    const line = await waitForLine((l) =>
      l.reason === "crashed" && /crashed: .*boom.*; replacing it/.test(msg(l))
    );
    assert.equal(line.levelname, "ERROR");
    const replaced = await pollUntil(
      "replacement replica ready",
      15_000,
      async () => {
        const m = await scrape(url);
        return m.get("cortex_replicas", api) === 2 && m;
      },
    );
    assert.equal(replaced.get("cortex_replica_restarts_total", api), 1);
    // A little more load on the new pool, then stop.
    const settled = load.outcomes.length;
    await pollUntil(
      "load continues after replacement",
      5_000,
      () => load.outcomes.length >= settled + 8,
    );
    const outcomes = await load.stop();

    const counts = tally(outcomes);
    assert.deepEqual(
      Object.keys(counts).filter((k) => k !== "200" && k !== "error"),
      [],
      `unexpected statuses ${JSON.stringify(counts)}`,
    );
    // Only requests in flight on the crashed replica (one per client at most,
    // plus a reconnect racing the listener's close) may fail, and only then.
    const failed = outcomes.filter((o) => o.status !== 200);
    assert.ok(
      failed.length <= 8,
      `${failed.length} failures: ${JSON.stringify(counts)}`,
    );
    for (const f of failed) {
      assert.ok(
        f.at >= crashAt && f.at - crashAt < 5_000,
        `failure at +${f.at - crashAt} ms: ${f.error}`,
      );
    }
    assert.ok(counts[200]! >= 16, JSON.stringify(counts));

    // Afterwards everything is 200 again, on fresh connections too.
    assert.deepEqual(tally(await freshBatch(url, 12)), { 200: 12 });
    const m = await scrape(url);
    assert.equal(m.get("cortex_in_flight_requests", api), 0);
    assert.equal(m.get("cortex_admission_limit", api), 128);
  });
});

/** Starts a hang on one replica and waits until the watchdog replaces it. */
async function hangAndReplace(
  url: string,
  waitForLine: (p: (l: LogLine) => boolean, t?: number) => Promise<LogLine>,
) {
  await pollUntil(
    "2 ready replicas",
    15_000,
    async () => (await scrape(url)).get("cortex_replicas", api) === 2,
  );
  const hangAt = Date.now();
  const giveUp = new AbortController();
  const hung = attempt(`${url}/faults?hang=1`, {
    signal: AbortSignal.any([giveUp.signal, AbortSignal.timeout(20_000)]),
  });
  const line = await waitForLine((l) => l.reason === "hung", 20_000);
  const took = Date.now() - hangAt;
  // Watchdog: max(10 s, request_timeout + 5 s), checked every second.
  assert.ok(took >= 9_000 && took < 14_000, `replaced after ${took} ms`);
  assert.match(msg(line), /hung: no progress for \d+ s; replacing it/);
  assert.equal(line.levelname, "ERROR");
  const m = await pollUntil("replacement replica ready", 15_000, async () => {
    const m = await scrape(url);
    return m.get("cortex_replicas", api) === 2 && m;
  });
  assert.equal(m.get("cortex_replica_restarts_total", api), 1);
  assert.equal(m.get("cortex_admission_limit", api), 128);
  return { hangAt, hung, giveUp };
}

Deno.test("faults: a hung replica (sync loop) is replaced within the watchdog period", async () => {
  await withServer(FAULTS, {}, async ({ url, waitForLine }) => {
    const { hung, giveUp } = await hangAndReplace(url, waitForLine);
    // Later requests are answered by the live replicas. Deno 2.9.6 cannot stop
    // the spinning thread (see the next test), so its listener still takes a
    // share of new connections: those get no answer, but none gets an error.
    const later = await Promise.all(Array.from({ length: 12 }, async () => {
      const client = Deno.createHttpClient({});
      try {
        return await attempt(`${url}/faults?ms=20`, {
          client,
          signal: AbortSignal.timeout(3_000),
        });
      } finally {
        client.close();
      }
    }));
    const answered = later.filter((o) => o.status !== null);
    assert.ok(
      answered.every((o) => o.status === 200),
      JSON.stringify(tally(later)),
    );
    assert.ok(answered.length >= 4, JSON.stringify(tally(later)));
    const replicas = new Set(answered.map((o) => JSON.parse(o.body).replica));
    assert.ok(replicas.size >= 1);
    giveUp.abort();
    await hung;
  });
});

// Known failure on Deno 2.9.6 (denoland/deno#35657): worker.terminate() does
// not stop a worker spinning in a synchronous loop; the thread keeps a core
// busy and keeps its listener and connections open. The contract (only the
// hung replica's requests fail, later requests all succeed) needs the
// serving process to be replaced; run with CORTEX_TEST_KNOWN_BUGS=1.
Deno.test({
  name:
    "faults: a hung replica's connections close and every later request succeeds (known Deno bug)",
  ignore: Deno.env.get("CORTEX_TEST_KNOWN_BUGS") !== "1",
  fn: async () => {
    await withServer(FAULTS, {}, async ({ url, waitForLine }) => {
      const { hangAt, hung } = await hangAndReplace(url, waitForLine);
      const outcome = await hung;
      assert.ok(
        outcome.status === null || outcome.status >= 500,
        JSON.stringify(outcome),
      );
      assert.ok(
        outcome.at - hangAt < 15_000,
        `the hung request ended after ${outcome.at - hangAt} ms`,
      );
      assert.deepEqual(tally(await freshBatch(url, 12)), { 200: 12 });
    });
  },
});

Deno.test("faults: request_timeout answers 504 and aborts req.signal; so does a client that disconnects", async () => {
  await withServer(fixture("timeouts"), {}, async ({ url, waitForLine }) => {
    const started = Date.now();
    const res = await fetch(`${url}/timeouts?tag=t1`, {
      signal: AbortSignal.timeout(10_000),
    });
    const took = Date.now() - started;
    assert.equal(res.status, 504);
    const body = await res.json();
    assert.match(
      body.error,
      /did not answer within 1000 ms \(handler.request_timeout\)/,
    );
    assert.equal(body.request_id, res.headers.get("x-request-id"));
    assert.ok(took >= 950 && took < 3_000, `504 after ${took} ms`);
    const aborted = await waitForLine((l) =>
      msg(l) === "handler saw abort" && l.tag === "t1"
    );
    assert.equal(aborted.reasonName, "TimeoutError");
    assert.equal(
      (aborted.labels as Record<string, unknown>).requestId,
      body.request_id,
    );

    // The client goes away after 300 ms: the handler's signal aborts then,
    // long before the timeout.
    const gone = new AbortController();
    const pending = fetch(`${url}/timeouts?tag=c1`, { signal: gone.signal });
    setTimeout(() => gone.abort(), 300);
    await assert.rejects(pending);
    const line = await waitForLine(
      (l) => msg(l) === "handler saw abort" && l.tag === "c1",
      5_000,
    );
    assert.ok(Number(line.afterMs) < 900, `aborted after ${line.afterMs} ms`);
    assert.notEqual(line.reasonName, "TimeoutError");

    // Nothing is left in flight and the API still answers.
    const m = await pollUntil("nothing in flight", 5_000, async () => {
      const m = await scrape(url);
      return m.get("cortex_in_flight_requests", { api: "timeouts" }) === 0 && m;
    });
    assert.equal(
      m.get("cortex_requests_total", { api: "timeouts", status: "504" }),
      1,
    );
    const after = await fetch(`${url}/timeouts?tag=t2`, {
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(after.status, 504);
    await after.body?.cancel();
  });
});

Deno.test("faults: a replica that dies with queued requests leaves no phantom in-flight or queued requests", async () => {
  // One replica, one slot, up to 4 admitted.
  await withServer(fixture("queueing"), {}, async ({ url, waitForLine }) => {
    const m0 = await scrape(url);
    assert.equal(m0.get("cortex_replicas", { api: "queueing" }), 1);
    const crash = attempt(`${url}/queueing?crash=800`, {
      signal: AbortSignal.timeout(15_000),
    });
    await pollUntil(
      "the crash request running",
      5_000,
      async () =>
        (await scrape(url)).get("cortex_in_flight_requests", {
          api: "queueing",
        }) === 1,
      20,
    );
    const queued = Array.from(
      { length: 3 },
      () => attempt(`${url}/queueing`, { signal: AbortSignal.timeout(15_000) }),
    );
    await pollUntil(
      "3 queued",
      5_000,
      async () =>
        (await scrape(url)).get("cortex_queued_requests", {
          api: "queueing",
        }) === 3,
      20,
    );

    await waitForLine((l) => l.reason === "crashed", 10_000);
    const outcomes = [await crash, ...await Promise.all(queued)];
    // What the dead replica held fails: reset, 500 when forwarded, or 503
    // (with Retry-After) when the client retried while no replica was ready.
    for (const o of outcomes) {
      assert.ok(
        o.status === null || o.status === 500 || o.status === 503,
        JSON.stringify(o),
      );
      if (o.status === 503) assert.equal(o.headers?.get("retry-after"), "1");
    }

    const m = await pollUntil("replacement ready", 15_000, async () => {
      const m = await scrape(url);
      return m.get("cortex_replicas", { api: "queueing" }) === 1 && m;
    });
    assert.equal(
      m.get("cortex_queued_requests", { api: "queueing" }),
      0,
      m.text,
    );
    assert.equal(
      m.get("cortex_in_flight_requests", { api: "queueing" }),
      0,
      m.text,
    );
    assert.equal(
      m.get("cortex_replica_restarts_total", { api: "queueing" }),
      1,
    );
    // The full admission limit is available again: 4 at once all succeed.
    const four = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          attempt(`${url}/queueing`, { signal: AbortSignal.timeout(15_000) }),
      ),
    );
    assert.deepEqual(tally(four), { 200: 4 });
  });
});
