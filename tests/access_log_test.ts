/**
 * `handler.access_log` end to end: N requests to each API of a fixture whose
 * APIs log every request (the default), none (`false`) and a 10% sample
 * (`0.1`, with every 5xx kept), counting the access lines on stdout.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import { pollUntil } from "./_metrics.ts";

const N = 200;
const FAILING = 20;

const accessLinesOf = (lines: LogLine[], api: string, status?: number) =>
  lines.filter((l) =>
    typeof l.latencyMs === "number" && typeof l.status === "number" &&
    (l.labels as Record<string, unknown> | undefined)?.apiName === api &&
    (status === undefined || l.status === status)
  ).length;

async function get(url: string): Promise<number> {
  const res = await fetch(url);
  await res.body?.cancel();
  return res.status;
}

Deno.test("access_log: true logs every request, false none, 0.1 about a tenth plus every 5xx", async () => {
  await withServer(fixture("access_log"), {}, async ({ url, lines }) => {
    for (const api of ["all", "off", "sampled"]) {
      for (let i = 0; i < N; i++) assert.equal(await get(`${url}/${api}`), 200);
      for (let i = 0; i < FAILING; i++) {
        assert.equal(await get(`${url}/${api}?fail=1`), 500);
      }
    }
    // Replicas batch their lines: wait until the complete API has them all.
    await pollUntil(
      "every access line of API all",
      10_000,
      () => accessLinesOf(lines(), "all") === N + FAILING,
    );
    await new Promise((r) => setTimeout(r, 200));
    const all = lines();
    assert.equal(accessLinesOf(all, "all"), N + FAILING);
    assert.equal(accessLinesOf(all, "off"), 0);
    const sampledOk = accessLinesOf(all, "sampled", 200);
    // Binomial(200, 0.1): mean 20, sd 4.2; these bounds are > 3.5 sd away.
    assert.ok(
      sampledOk >= 5 && sampledOk <= 40,
      `${sampledOk} of ${N} successful requests logged at 0.1`,
    );
    assert.equal(
      accessLinesOf(all, "sampled", 500),
      FAILING,
      "every 5xx is logged",
    );
  });
});
