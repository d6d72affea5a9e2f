/**
 * A hostile handler next to a well-behaved API in one server, as a
 * compromised npm dependency would run it: nothing it does may reach the
 * other API's traffic, the runtime's messages, the logs of another API, or
 * the availability of the other API. Each test was run against the
 * Worker-based replicas first and failed there (see SECURITY.md).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "../_server.ts";
import { attempt, loadLoops, pollUntil, scrape, tally } from "../_metrics.ts";

const PAIR = fixture("hostile_pair");
const msg = (l: LogLine) => String(l.message ?? "");
const labels = (l: LogLine) =>
  (l.labels ?? {}) as Record<string, string | undefined>;

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, {
    ...init,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: await res.json() };
}

/** Keeps the victim busy; returns its outcomes and the share answered 200 within 2 s. */
function victimLoad(url: string) {
  const load = loadLoops(4, () => `${url}/victim`, {
    headers: { authorization: "Bearer victim-secret-token" },
  });
  return {
    load,
    async stop() {
      const outcomes = await load.stop();
      const ok = outcomes.filter((o) =>
        o.status === 200 && o.at - o.startedAt < 2_000
      );
      return { outcomes, share: ok.length / outcomes.length };
    },
  };
}

Deno.test("security: a handler cannot bind the server's port or any port, at load or request time, in a single-API server", async () => {
  await withServer(fixture("hostile_alone"), {}, async ({ url }) => {
    // When its module loads, the handler finds no port it may use...
    const atLoad = await json(`${url}/hostile?attack=at-load`);
    assert.deepEqual(atLoad.body, { granted: [], results: [] });
    // ...and binding the server's port (or any) at request time is refused.
    const { status, body } = await json(`${url}/hostile?attack=bind`);
    assert.equal(status, 200);
    assert.deepEqual(body.results, new Array(8).fill("NotCapable"));
    // Every connection is still answered by the runtime.
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, () => attempt(`${url}/hostile`)),
    );
    assert.deepEqual(tally(outcomes), { 200: 40 });
    assert.ok(outcomes.every((o) => !o.body.includes("forged")));
  });
});

Deno.test("security: the serve internals a replica keeps serve nothing for a handler that imports them", async () => {
  await withServer(fixture("hostile_alone"), {}, async ({ url }) => {
    const { status, body } = await json(
      `${url}/hostile?attack=serve-internals`,
    );
    assert.equal(status, 200);
    // A handler can import the module that kept them (a runtime file)...
    assert.equal(body.listenerType, "function");
    assert.equal(body.connectionType, "function");
    // ...but has nothing to serve on: no listener or connection of its own,
    // and a made-up one is refused.
    assert.deepEqual(
      [body.listener, body.connection, body.listenerFake, body.connectionFake],
      ["NotCapable", "NotCapable", "TypeError", "TypeError"],
    );
  });
});

Deno.test("security: a handler cannot load a project through the test harness's computed import", async () => {
  await withServer(fixture("hostile_alone"), {}, async ({ url }) => {
    const { status, body } = await json(`${url}/hostile?attack=load-handler`);
    assert.equal(status, 200);
    // A computed import is checked against the replica's read grants,
    // which hold none of the runtime's files.
    assert.match(body.message, /Requires read access to ".*load_project\.ts"/);
  });
});

Deno.test("security: another API's requests never enter the hostile handler's process", async () => {
  await withServer(PAIR, {}, async ({ url }) => {
    const bind = await json(`${url}/hostile?attack=bind`);
    assert.deepEqual(bind.body.results, new Array(8).fill("NotCapable"));
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, () =>
        attempt(`${url}/victim`, {
          headers: { authorization: "Bearer victim-secret-token" },
        })),
    );
    assert.deepEqual(tally(outcomes), { 200: 40 });
    assert.ok(outcomes.every((o) => JSON.parse(o.body).auth === true));
    const seen = await json(`${url}/hostile?attack=seen`);
    assert.deepEqual(seen.body.seen, []);
  });
});

Deno.test("security: log lines a handler forges for another API are labelled with its own replica", async () => {
  await withServer(PAIR, {}, async ({ url, lines, waitForLine }) => {
    const { status } = await json(`${url}/hostile?attack=forge-log`);
    assert.equal(status, 200);
    await waitForLine((l) => msg(l).includes("forged by hostile"));
    await new Promise((r) => setTimeout(r, 300));
    const forged = lines().filter((l) =>
      msg(l).includes("forged by hostile") ||
      JSON.stringify(l).includes("forged by hostile")
    );
    assert.ok(forged.length >= 2, JSON.stringify(forged));
    for (const l of forged) assert.equal(labels(l).apiName, "hostile");
    // The access record it printed is text of its own replica, no access line.
    await waitForLine((l) => msg(l).includes("/forged-record"));
    assert.equal(
      lines().filter((l) => (l as { path?: string }).path === "/forged-record")
        .length,
      0,
    );
    assert.equal(
      lines().filter((l) =>
        labels(l).apiName === "victim" && msg(l) === "forged by hostile"
      ).length,
      0,
    );
  });
});

Deno.test("security: forged runtime frames reach nothing or get the hostile replica replaced; the server and the victim are unaffected", async () => {
  await withServer(PAIR, {}, async ({ url, lines, waitForLine }) => {
    const victim = victimLoad(url);
    const forged = await attempt(`${url}/hostile?attack=forge-frames`);
    // Either no write reached anything (Deno's internals are gone and raw
    // descriptors are not the channel), or what it wrote got the replica
    // replaced; either way nothing it wrote was acted on.
    const wrote = forged.status === 200 ? JSON.parse(forged.body).wrote : null;
    if (wrote !== 0) {
      const line = await waitForLine(
        (l) =>
          /Replica "hostile-\d+" of API "hostile" (crashed|failed to start): (sent an invalid message|its channel failed)/
            .test(msg(l)),
        10_000,
      );
      assert.equal(line.levelname, "ERROR");
    }
    await pollUntil(
      "the hostile API serving",
      15_000,
      async () =>
        (await scrape(url)).get("cortex_replicas", { api: "hostile" }) === 1,
    );
    const { outcomes, share } = await victim.stop();
    assert.equal(share, 1, JSON.stringify(tally(outcomes)));
    const metrics = await fetch(`${url}/metrics`);
    assert.equal(metrics.status, 200);
    await metrics.body?.cancel();
    assert.equal(
      lines().filter((l) =>
        (JSON.stringify(l).includes("forged frame") ||
          JSON.stringify(l).includes("/forged-frame-record")) &&
        labels(l).apiName === "victim"
      ).length,
      0,
    );
  });
});

Deno.test("security: a handler cannot write what decides what replicas load or may read (scratch root, control report, another replica's scratch, the prepare cache)", async () => {
  const cache = await Deno.makeTempDir({ prefix: "cortex_hostile_cache_" });
  try {
    await withServer(
      PAIR,
      { env: { CORTEX_PREPARE_CACHE: cache } },
      async ({ url }) => {
        const res = await fetch(
          `${url}/hostile?attack=write-runtime-files&cache=${
            encodeURIComponent(cache)
          }`,
        );
        assert.equal(res.status, 200);
        const { results } = await res.json() as {
          results: Record<string, string>;
        };
        // Its own scratch directory is writable: the attempts below ran.
        assert.equal(results["own scratch"], "ok");
        const outside = Object.entries(results)
          .filter(([what]) => what !== "own scratch");
        assert.equal(outside.length, 14);
        for (const [what, result] of outside) {
          assert.equal(result, "NotCapable", what);
        }
        const planted = [...Deno.readDirSync(cache)]
          .filter((e) => e.name.startsWith("planted"));
        assert.deepEqual(planted, []);
      },
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

for (const attack of ["spin", "alloc", "alloc-external"] as const) {
  Deno.test(`security: a handler that ${attack === "spin" ? "spins forever" : attack === "alloc" ? "allocates heap without bound" : "holds gigabytes of buffers"} is ended and replaced; the other API keeps answering`, async () => {
    await withServer(PAIR, {}, async ({ url, waitForLine }) => {
      const victim = victimLoad(url);
      await pollUntil(
        "victim load",
        5_000,
        () => victim.load.outcomes.length > 10,
      );
      const started = Date.now();
      const hit = await attempt(`${url}/hostile?attack=${attack}`, {
        signal: AbortSignal.timeout(20_000),
      });
      assert.ok(hit.status === null || hit.status >= 500, JSON.stringify(hit));
      const why = attack === "spin"
        ? /hung: its event loop has been blocked/
        : attack === "alloc"
        ? /went over its memory limit: its heap reached the limit \(killed by \w+: Fatal JavaScript out of memory/
        : /went over its memory limit: it holds \d+ MiB, over 256 MiB \(compute\.mem\)/;
      const line = await waitForLine(
        (l) => labels(l).component === "server" && why.test(msg(l)),
        20_000,
      );
      const ended = Date.now() - started;
      assert.ok(ended < 10_000, `ended after ${ended} ms`);
      assert.match(msg(line), /replacing it/);
      await pollUntil(
        "the hostile API back",
        20_000,
        async () =>
          (await scrape(url)).get("cortex_replicas", { api: "hostile" }) === 1,
      );
      const { outcomes, share } = await victim.stop();
      assert.ok(share >= 0.95, `${share}: ${JSON.stringify(tally(outcomes))}`);
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `hostile ${attack}: ended after ${ended} ms; victim ${
            Math.round(share * 1000) / 10
          }% of ${outcomes.length} requests answered 200 within 2 s\n`,
        ),
      );
    });
  });
}
