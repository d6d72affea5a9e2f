/**
 * A roll-out whose new replicas fail leaves the API as it was: the old
 * replicas keep serving, `cortex get` shows the configuration they run and
 * why the roll-out failed, and a replica that replaces a crashed old one
 * starts with the old configuration, not the one that failed.
 */

import assert from "node:assert/strict";
import { CortexClient } from "../mod.ts";
import { fixture, withServer } from "./_server.ts";
import { pollUntil } from "./_metrics.ts";

const TOKEN = "rollout-test-token-0123456789";

Deno.test("roll-out: a failed roll-out keeps the served configuration, also for replacements", async () => {
  await withServer(fixture("rollout"), {
    env: { CORTEX_CONTROL_TOKEN: TOKEN },
  }, async (s) => {
    const get = async () => {
      const res = await fetch(`${s.url}/versioned`);
      return { status: res.status, body: await res.json() };
    };
    const first = await get();
    assert.deepEqual(first.body.version, "v1");

    const port = s.lines().find((l) => typeof l.controlPort === "number")
      ?.controlPort;
    const control = new CortexClient({
      url: `http://127.0.0.1:${port}`,
      token: TOKEN,
    });
    await control.patch("versioned", {
      handler: { path: "fail.ts", config: { version: "v2" } },
    });
    await s.waitForLine(
      (l) => String(l.message).startsWith('Roll-out of API "versioned" failed'),
      30_000,
    );

    const api = await control.get("versioned");
    const spec = api.spec as { handler: { path: string; config: unknown } };
    assert.equal(spec.handler.path, "handler.ts", "the served handler");
    assert.deepEqual(spec.handler.config, { version: "v1" });
    assert.equal(api.status, "live");
    assert.match(String(api.error), /fail\.ts refuses to start/);
    assert.deepEqual((await get()).body, first.body, "old replica serves");

    // The old replica crashes: its replacement runs the served config.
    await fetch(`${s.url}/versioned?crash=1`).then((r) => r.body?.cancel());
    const after = await pollUntil("a replacement replica", 30_000, async () => {
      const r = await get().catch(() => null);
      return r?.status === 200 && r.body.replica !== first.body.replica
        ? r
        : undefined;
    });
    assert.equal(after.body.version, "v1");
  });
});
