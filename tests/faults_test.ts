/**
 * The contract "Replicas and autoscaling": a replica that crashes or hangs is
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

// A replica is a process of its own: one spinning in a synchronous loop stops
// sending heartbeats and is killed (SIGKILL always works on a process) and
// replaced within seconds; the other replica keeps answering meanwhile.
Deno.test("faults: a hung replica (sync loop) is killed and replaced within seconds; the other keeps answering", async () => {
  await withServer(FAULTS, {}, async ({ url, port, waitForLine, lines }) => {
    await pollUntil(
      "2 ready replicas",
      15_000,
      async () => (await scrape(url)).get("cortex_replicas", api) === 2,
    );
    // Requests and /healthz on fresh connections all along.
    const seen: { at: number; status: number | null; took: number }[] = [];
    let watching = true;
    const loop = (async () => {
      while (watching) {
        const o = await fresh(`${url}/faults?ms=10`, 2_000);
        seen.push({
          at: o.startedAt,
          status: o.status,
          took: o.at - o.startedAt,
        });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const hangAt = Date.now();
    const hung = rawGet(port, "/faults?hang=1", 20_000);
    const line = await waitForLine((l) => l.reason === "hung", 10_000);
    const took = Date.now() - hangAt;
    // request_timeout 1 s: no heartbeat for 2 s, checked every 250 ms.
    assert.ok(took >= 1_500 && took < 4_000, `killed after ${took} ms`);
    assert.match(
      msg(line),
      /hung: its event loop has been blocked for [\d.]+ s; replacing it/,
    );
    assert.equal(line.levelname, "ERROR");
    const outcome = await hung;
    assert.ok(
      outcome.status === null || outcome.status >= 500,
      JSON.stringify(outcome),
    );
    await pollUntil(
      "the replacement replica",
      15_000,
      async () => (await scrape(url)).get("cortex_replicas", api) === 2,
    );
    await new Promise((r) => setTimeout(r, 500));
    watching = false;
    await loop;
    // Requests on the stuck replica's listener stall until it is killed;
    // everything else answers, and nothing fails once it is gone.
    const ok = seen.filter((o) => o.status === 200 && o.took < 2_000);
    assert.ok(ok.length >= seen.length * 0.8, JSON.stringify(seen));
    const killedAt = hangAt + took;
    assert.ok(
      seen.filter((o) => o.at > killedAt + 200).every((o) => o.status === 200),
      JSON.stringify(seen.filter((o) => o.status !== 200)),
    );
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `stuck replica: killed after ${took} ms; ${ok.length}/${seen.length} requests answered within 2 s meanwhile\n`,
      ),
    );
    const m = await scrape(url);
    assert.equal(m.get("cortex_replica_restarts_total", api), 1);
    assert.equal(
      lines().filter((l) => fromSupervisor(l) && /Replacing/.test(msg(l)))
        .length,
      0,
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
