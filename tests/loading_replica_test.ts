/**
 * A replica that is still loading its handler gets the answers to its own
 * calls: a chained call from `init()`, and requests on its listener that it
 * hands on to the serving process until its handler is constructed. Before,
 * those answers waited until the load ended: a handler chaining from init()
 * deadlocked until `handler.startup_timeout`, and a client whose connection
 * reached a loading replica's listener waited for the whole load.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";

Deno.test("loading replica: a chained call from init() is answered while the replica loads", async () => {
  await withServer(fixture("init_chain"), {}, async (s) => {
    const res = await fetch(`${s.url}/caller`);
    assert.equal(res.status, 200);
    // 200 if "other" was ready first, else its 503: either way, answered.
    const { initStatus } = await res.json();
    assert.ok([200, 503].includes(initStatus), `init got ${initStatus}`);
  });
});

Deno.test("loading replica: requests on its listener are handed on at once, not held until the load ends", async () => {
  const msg = (l: LogLine) => String(l.message ?? "");
  await withServer(fixture("slow_init"), {
    args: ["--api", "model"],
  }, async (s) => {
    const loads = () => s.lines().filter((l) => msg(l) === "Model loaded");
    const first = loads()[0]!;
    Deno.kill(Number(first.process), "SIGKILL");
    // The replacement loads for 3 s. New connections go to whichever
    // listener holds the port (the serving process's, or the replacement's
    // once it has bound it): each must be answered before the load ends.
    await s.waitForLine(
      (l) => /Replica "model-1" .* crashed/.test(msg(l)),
      10_000,
    );
    const statuses: number[] = [];
    for (let round = 0; round < 4; round++) {
      await Promise.all(Array.from({ length: 8 }, async () => {
        const client = Deno.createHttpClient({});
        try {
          for (let i = 0;; i++) {
            try {
              const res = await fetch(`${s.url}/healthz`, { client });
              await res.body?.cancel();
              statuses.push(res.status);
              return;
            } catch (error) {
              // Between the death and a listener taking over: refused.
              if (i > 40) throw error;
              await new Promise((r) => setTimeout(r, 25));
            }
          }
        } finally {
          client.close();
        }
      }));
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.equal(loads().length, 1, "every answer came before the load ended");
    assert.deepEqual(new Set(statuses), new Set([503]));
  });
});
