/**
 * DESIGN.md "Replicas and autoscaling": a replica that crashes or hangs is
 * replaced and only the requests it held fail; request timeouts answer 504
 * and abort the handler's signal, as does a client that goes away.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import { attempt, loadLoops, pollUntil, scrape, tally } from "./_metrics.ts";
import { alive } from "./_supervisor.ts";

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

/** One GET on a connection of its own. */
async function fresh(url: string, timeoutMs: number) {
  const client = Deno.createHttpClient({});
  try {
    return await attempt(url, {
      client,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } finally {
    client.close();
  }
}

/**
 * GET `path` on a raw TCP connection and read until it closes: unlike fetch,
 * nothing retries the request on another connection when this one is reset
 * (a retried ?hang=1 would hang the next serving process too).
 */
async function rawGet(port: number, path: string, timeoutMs: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  let text = "";
  let error: string | null = null;
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(4096);
    let n: number | null;
    while ((n = await conn.read(buf)) !== null) {
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch (e) {
    error = String((e as Error)?.message ?? e);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
  const status = /^HTTP\/1\.1 (\d+)/.exec(text)?.[1];
  return { status: status ? Number(status) : null, error, at: Date.now() };
}

const fromSupervisor = (l: LogLine) =>
  (l.labels as Record<string, unknown> | undefined)?.component ===
    "supervisor";

// Deno 2.9.6 cannot stop a worker spinning in a synchronous loop
// (denoland/deno#35657): the thread keeps a core busy and its reusePort
// listener keeps taking connections that never get an answer. So the serving
// process asks the supervisor to replace it: a new one starts alongside on
// the same port, then the old one drains and exits, ending the thread.
Deno.test("faults: a hung replica (sync loop) is replaced, then the serving process is too; every later request succeeds", async () => {
  await withServer(FAULTS, {}, async ({ url, port, waitForLine, lines }) => {
    await pollUntil(
      "2 ready replicas",
      15_000,
      async () => (await scrape(url)).get("cortex_replicas", api) === 2,
    );
    // /healthz on fresh connections all along.
    const health: { at: number; status: number | null }[] = [];
    let watching = true;
    const healthLoop = (async () => {
      while (watching) {
        const o = await fresh(`${url}/healthz`, 2_000);
        health.push({ at: o.startedAt, status: o.status });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const hangAt = Date.now();
    const hung = rawGet(port, "/faults?hang=1", 40_000);
    const line = await waitForLine((l) => l.reason === "hung", 20_000);
    const took = Date.now() - hangAt;
    // Watchdog: max(10 s, request_timeout + 5 s), checked every second.
    assert.ok(took >= 9_000 && took < 14_000, `replaced after ${took} ms`);
    assert.match(msg(line), /hung: no progress for \d+ s; replacing it/);
    assert.equal(line.levelname, "ERROR");
    await waitForLine((l) =>
      /is stuck .*asking the supervisor to replace this serving process/
        .test(msg(l))
    );

    // The supervisor starts a new serving process, then drains the old one.
    const replacing = await waitForLine(
      (l) =>
        fromSupervisor(l) &&
        msg(l).startsWith("Replacing the serving process (pid "),
      5_000,
    );
    const replaced = await waitForLine(
      (l) => fromSupervisor(l) && /^Serving process replaced/.test(msg(l)),
      60_000,
    );
    const oldPid = replaced.oldPid as number;
    assert.equal(replacing.oldPid, oldPid);
    assert.notEqual(replaced.newPid, oldPid);
    const drainAt = Date.now();
    // It exits within its grace period (2 s) and a few seconds, taking the
    // stuck thread and its listener with it.
    await waitForLine(
      (l) =>
        fromSupervisor(l) &&
        msg(l) === `Replaced serving process (pid ${oldPid}) exited`,
      8_000,
    );
    assert.equal(await alive(oldPid), false, `pid ${oldPid} still alive`);
    const goneAt = Date.now();
    assert.ok(goneAt - drainAt < 8_000, `exited after ${goneAt - drainAt} ms`);

    // The hung request ends with its process (reset, or an error status).
    const outcome = await hung;
    assert.ok(
      outcome.status === null || outcome.status >= 500,
      JSON.stringify(outcome),
    );
    assert.ok(
      outcome.at - hangAt < 30_000,
      `ended after ${outcome.at - hangAt} ms`,
    );

    // Every later request, on a new connection, succeeds quickly.
    for (let i = 0; i < 50; i++) {
      const o = await fresh(`${url}/faults?ms=20`, 2_000);
      assert.equal(o.status, 200, `request ${i}: ${JSON.stringify(o)}`);
      assert.ok(
        o.at - o.startedAt < 2_000,
        `request ${i} took ${o.at - o.startedAt} ms`,
      );
    }
    watching = false;
    await healthLoop;
    // /healthz: 200 throughout, except checks that landed on the stuck
    // thread's listener (no answer) or on the old process while it drained
    // (503), and none of those once it is gone.
    const bad = health.filter((h) => h.status !== 200);
    assert.ok(
      bad.every((h) =>
        (h.status === null || h.status === 503) && h.at < goneAt
      ),
      JSON.stringify(bad),
    );
    assert.ok(health.filter((h) => h.at > goneAt).length >= 5);
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `stuck thread: watchdog after ${took} ms; old serving process gone ${
          goneAt - hangAt
        } ms after the hang (${
          goneAt - drainAt
        } ms after the drain); /healthz: ${
          health.length - bad.length
        } OK, ${bad.length} unanswered or 503 before that\n`,
      ),
    );
    const m = await scrape(url);
    assert.equal(m.get("cortex_replicas", api), 2);
    assert.equal(m.get("cortex_replica_restarts_total", api), 0);
    assert.equal(
      lines().filter((l) =>
        fromSupervisor(l) && msg(l).startsWith("Replacing the serving process")
      ).length,
      1,
    );
  });
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
