/**
 * The contract "Replicas and autoscaling": SIGTERM drains. No new requests,
 * every admitted request and pending callback finishes, then exit 0; a
 * second signal during the drain exits at once with a non-zero code.
 */

import assert from "node:assert/strict";
import {
  fixture,
  type LogLine,
  type RunningServer,
  withServer,
} from "./_server.ts";
import { attempt, type Outcome, pollUntil, scrape } from "./_metrics.ts";
import { alive, requestReplacement, servingProcesses } from "./_supervisor.ts";

const PROJECT = fixture("shutdown");
const api = { api: "shutdown" };
const msg = (l: LogLine) => String(l.message);

/** Sends `n` requests and waits until all are admitted (in flight on /metrics). */
async function admitted(
  url: string,
  n: number,
  ms: number,
): Promise<Promise<Outcome>[]> {
  const requests = Array.from(
    { length: n },
    (_, i) =>
      attempt(`${url}/shutdown?n=${i}&ms=${ms}`, {
        signal: AbortSignal.timeout(30_000),
      }),
  );
  await pollUntil(
    `${n} admitted requests`,
    10_000,
    async () => (await scrape(url)).get("cortex_in_flight_requests", api) >= n,
    25,
  );
  return requests;
}

/** /healthz answers 503 (draining) or the listeners are already closed. */
async function healthGoesDown(url: string): Promise<string> {
  return await pollUntil("/healthz to stop answering 200", 5_000, async () => {
    const res = await attempt(`${url}/healthz`, {
      signal: AbortSignal.timeout(2_000),
    });
    if (res.status === null) return "refused";
    if (res.status === 503) {
      assert.equal(JSON.parse(res.body).status, "draining");
      return "503";
    }
    return undefined;
  }, 20);
}

async function drainsCleanly(
  s: RunningServer,
  signal: () => void,
): Promise<void> {
  const { url } = s;
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  await health.body?.cancel();

  const requests = await admitted(url, 20, 1_000);
  const sentAt = Date.now();
  signal();
  await healthGoesDown(url);

  const outcomes = await Promise.all(requests);
  for (const o of outcomes) assert.equal(o.status, 200, JSON.stringify(o));
  assert.deepEqual(
    outcomes.map((o) => Number(JSON.parse(o.body).n)).sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i),
  );
  const status = await s.proc.status;
  assert.equal(status.code, 0);
  assert.equal(status.signal, null);
  // Every callback ran (each logs 300 ms after its response).
  for (let i = 0; i < 20; i++) {
    await s.waitForLine(
      (l) => msg(l) === "callback done" && l.n === String(i),
      5_000,
    );
  }
  await s.waitForLine((l) => msg(l) === "Stopped", 1_000);
  const stopped = s.lines().findIndex((l) => msg(l) === "Stopped");
  const lastCallback = s.lines().findLastIndex((l) =>
    msg(l) === "callback done"
  );
  assert.ok(lastCallback < stopped, "a callback ran after Stopped");
  assert.ok(Date.now() - sentAt < 15_000);

  // Nothing listens any more.
  const after = await attempt(`${url}/healthz`, {
    signal: AbortSignal.timeout(2_000),
  });
  assert.equal(after.status, null);
}

Deno.test("shutdown: SIGTERM to the server drains admitted requests and callbacks, then exits 0", async () => {
  await withServer(PROJECT, {}, async (s) => {
    await drainsCleanly(s, () => s.proc.kill("SIGTERM"));
  });
});

Deno.test("shutdown: SIGTERM to the whole process group drains the same way (one drain, exit 0)", async () => {
  await withServer(PROJECT, { detached: true }, async (s) => {
    await drainsCleanly(s, () => Deno.kill(-s.pid, "SIGTERM"));
    const drains = s.lines().filter((l) =>
      msg(l) === "Shutting down: draining in-flight requests"
    );
    assert.equal(drains.length, 1);
  });
});

Deno.test("shutdown: SIGINT drains like SIGTERM", async () => {
  await withServer(PROJECT, {}, async (s) => {
    const requests = await admitted(s.url, 3, 500);
    s.proc.kill("SIGINT");
    for (const o of await Promise.all(requests)) assert.equal(o.status, 200);
    assert.equal((await s.proc.status).code, 0);
  });
});

Deno.test("shutdown: a second SIGTERM during a long drain exits at once with a non-zero code", async () => {
  await withServer(PROJECT, {}, async (s) => {
    // 20 s handlers: the drain would take that long.
    const requests = await admitted(s.url, 4, 20_000);
    s.proc.kill("SIGTERM");
    await s.waitForLine(
      (l) => msg(l) === "Shutting down: draining in-flight requests",
      5_000,
    );
    // The supervisor treats signals within 300 ms as one (a keypress reaches
    // it twice through `deno task`); this one is a deliberate second signal.
    await new Promise((r) => setTimeout(r, 400));
    const exited = await Promise.race([
      s.proc.status.then((st) => ({ st })),
      new Promise<null>((r) => setTimeout(() => r(null), 200)),
    ]);
    assert.equal(exited, null, "exited before the second signal");
    const secondAt = Date.now();
    s.proc.kill("SIGTERM");
    const status = await s.proc.status;
    assert.ok(
      Date.now() - secondAt < 3_000,
      `exit took ${Date.now() - secondAt} ms`,
    );
    assert.notEqual(status.code, 0);
    for (const o of await Promise.all(requests)) assert.notEqual(o.status, 200);
  });
});

Deno.test("shutdown: a replaced serving process drains what it admitted; SIGTERM during a replacement drains both and exits 0", async () => {
  const runtime = await Deno.makeTempDir();
  try {
    await withServer(
      PROJECT,
      { env: { XDG_RUNTIME_DIR: runtime } },
      async (s) => {
        const stateFile = `${runtime}/cortex/${s.port}.json`;
        const readState = async () =>
          JSON.parse(await Deno.readTextFile(stateFile)).pid as number;
        const [first] = await servingProcesses(s.pid);
        assert.equal(
          await pollUntil("the state file", 5_000, readState),
          first,
        );
        const requests = await admitted(s.url, 3, 1_500);
        await requestReplacement(first!);
        const replaced = await s.waitForLine(
          (l) => /^Serving process replaced/.test(msg(l)),
          60_000,
        );
        assert.equal(replaced.oldPid, first);
        const second = replaced.newPid as number;
        // The old one finishes what it admitted, then exits.
        for (const o of await Promise.all(requests)) {
          assert.equal(o.status, 200);
        }
        await s.waitForLine(
          (l) => msg(l) === `Replaced serving process (pid ${first}) exited`,
          10_000,
        );
        assert.equal(await alive(first!), false);
        assert.equal(await readState(), second);
        assert.deepEqual(await servingProcesses(s.pid), [second]);
        const res = await fetch(`${s.url}/shutdown?ms=10`);
        assert.equal(res.status, 200);
        await res.body?.cancel();

        // Again, and SIGTERM while the third one starts.
        await requestReplacement(second);
        await s.waitForLine(
          (l) =>
            msg(l).startsWith(`Replacing the serving process (pid ${second})`),
          5_000,
        );
        const both = await servingProcesses(s.pid);
        const termAt = Date.now();
        s.proc.kill("SIGTERM");
        assert.equal((await s.proc.status).code, 0);
        // The one still starting finishes starting, then drains at once.
        assert.ok(Date.now() - termAt < 10_000, `${Date.now() - termAt} ms`);
        for (const pid of both) assert.equal(await alive(pid), false);
        await assert.rejects(Deno.stat(stateFile), Deno.errors.NotFound);
      },
    );
  } finally {
    await Deno.remove(runtime, { recursive: true });
  }
});

Deno.test("shutdown: a two-API server answers every admitted request of both APIs, then exits at once", async () => {
  await withServer(fixture("shutdown_pair"), {}, async (s) => {
    const requests = ["first", "second"].flatMap((name) =>
      Array.from(
        { length: 24 },
        (_, i) =>
          attempt(`${s.url}/${name}?n=${i}&ms=1000`, {
            signal: AbortSignal.timeout(30_000),
          }),
      )
    );
    await pollUntil("48 admitted requests", 10_000, async () => {
      const m = await scrape(s.url);
      return m.get("cortex_in_flight_requests", { api: "first" }) +
          m.get("cortex_in_flight_requests", { api: "second" }) >= 48;
    }, 25);
    const sentAt = Date.now();
    s.proc.kill("SIGTERM");
    const outcomes = await Promise.all(requests);
    const answered = outcomes.filter((o) => o.status === 200).length;
    assert.equal(
      answered,
      48,
      JSON.stringify(outcomes.find((o) => o.status !== 200)),
    );
    const status = await s.proc.status;
    const took = Date.now() - sentAt;
    assert.equal(status.code, 0);
    // Done once the last callback ran (~1.3 s), far from the 30 s grace.
    assert.ok(took < 5_000, `exited ${took} ms after SIGTERM`);
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `two-API drain: ${answered}/48 answered, exit ${took} ms after SIGTERM\n`,
      ),
    );
  });
});
