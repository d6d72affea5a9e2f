/**
 * A constructor that never returns (a synchronous loop) fails its replica
 * after handler.startup_timeout, is retried with back-off, is named by
 * /healthz and `cortex get`, and does not keep the server from serving its
 * other APIs or from stopping within its grace period; a throwing constructor
 * of the only API ends the server.
 */

import assert from "node:assert/strict";
import { CortexClient } from "../mod.ts";
import { fixture, type LogLine, runToExit, withServer } from "./_server.ts";

const TOKEN = "startup-test-token-0123456789";
const msg = (l: LogLine) => String(l.message ?? "");
const TIMED_OUT =
  /its constructor did not finish within 1000 ms \(handler\.startup_timeout\)/;

Deno.test("startup: a hanging constructor fails after startup_timeout, is retried with back-off and named; the other API serves; SIGTERM is prompt", async () => {
  await withServer(fixture("startup_hang"), {
    env: { CORTEX_CONTROL_TOKEN: TOKEN },
  }, async (s) => {
    const ok = await fetch(`${s.url}/ok`);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();

    const health = await fetch(`${s.url}/healthz`);
    assert.equal(health.status, 503);
    const body = await health.json();
    assert.equal(body.apis.ok.status, "live");
    assert.equal(body.apis.stuck.status, "error");
    assert.match(body.apis.stuck.error, TIMED_OUT);
    assert.match(body.reason, /API "stuck" is not ready: .*startup_timeout/);

    // Retried: the next attempts come after growing pauses.
    const failures = () =>
      s.lines().filter((l) =>
        l.levelname === "ERROR" &&
        /^Replica "stuck-\d+" of API "stuck" failed to start: /.test(msg(l)) &&
        TIMED_OUT.test(msg(l))
      );
    await s.waitForLine(() => failures().length >= 3, 15_000);
    const at = failures().map((l) => Date.parse(String(l.asctime)));
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    assert.ok(gaps[0]! >= 1_900, `first retry after ${gaps[0]} ms`);
    assert.ok(gaps[1]! > gaps[0]!, `gaps ${gaps} do not grow`);

    const port = s.lines().find((l) => typeof l.controlPort === "number")
      ?.controlPort;
    const client = new CortexClient({
      url: `http://127.0.0.1:${port}`,
      token: TOKEN,
    });
    const stuck = await client.get("stuck") as {
      status: string;
      error: string;
    };
    assert.equal(stuck.status, "error");
    assert.match(stuck.error, TIMED_OUT);

    const stopAt = Date.now();
    s.proc.kill("SIGTERM");
    const status = await s.proc.status;
    assert.equal(status.code, 0);
    assert.ok(
      Date.now() - stopAt < 5_000,
      `stopped after ${Date.now() - stopAt} ms`,
    );
  });
});

Deno.test("startup: a throwing constructor of the only API exits non-zero with the error logged", async () => {
  const { code, lines, stderr } = await runToExit(fixture("ctor_fails"));
  assert.notEqual(code, 0);
  const text = JSON.stringify(lines) + stderr;
  assert.match(text, /Model file weights\.bin is missing/);
  assert.ok(
    lines.some((l) =>
      l.levelname === "ERROR" && JSON.stringify(l).includes("weights.bin")
    ),
    "no ERROR line names the constructor's error",
  );
  assert.ok(!lines.some((l) => String(l.message).startsWith("Serving on")));
});
