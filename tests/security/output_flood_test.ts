/**
 * A hostile handler writes its stdout or stderr without ever ending the
 * line. The serving process reads replicas' output in lines; it used to hold
 * the whole unterminated line until its end (600 MB written: 2.2 GB resident,
 * and the work on one 512 MiB string stalled the serving process for over
 * 10 s, long enough to kill the other API's healthy replica as hung). Now it
 * logs a line in pieces of 64 KiB as they arrive (src/log/output_lines.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "../_server.ts";
import { loadLoops, pollUntil, tally } from "../_metrics.ts";

const FLOOD_MIB = 4;
const msg = (l: LogLine) => String(l.message ?? "");
const labels = (l: LogLine) =>
  (l.labels ?? {}) as Record<string, string | undefined>;

for (const to of ["stdout", "stderr"] as const) {
  Deno.test(`security: a line the handler never ends on ${to} is logged in pieces of its replica as it arrives; the other API keeps answering`, async () => {
    await withServer(
      fixture("hostile_output"),
      {},
      async ({ url, lines }) => {
        const victim = loadLoops(2, () => `${url}/victim`);
        await pollUntil(
          "victim load",
          5_000,
          () => victim.outcomes.length > 10,
        );
        const start = await fetch(`${url}/hostile?mib=${FLOOD_MIB}&to=${to}`);
        assert.equal(start.status, 200, await start.text());
        await pollUntil(
          `${FLOOD_MIB} MiB written to ${to}`,
          30_000,
          async () => {
            const res = await fetch(`${url}/hostile`);
            return (await res.json()).written === FLOOD_MIB;
          },
        );
        // The line is still open: all but its last piece is in the log.
        const pieces = () =>
          lines().filter((l) =>
            labels(l).replicaId?.startsWith("hostile-") && l.source === to &&
            /^A+$/.test(msg(l))
          );
        const logged = () =>
          pieces().reduce((sum, l) => sum + msg(l).length, 0);
        try {
          await pollUntil(
            "the open line logged",
            15_000,
            () => FLOOD_MIB * 2 ** 20 - logged() <= 64 * 1024,
          );
        } catch {
          assert.fail(
            `the serving process holds ${
              FLOOD_MIB * 2 ** 20 - logged()
            } bytes of the line the handler left open on ${to}`,
          );
        }
        for (const piece of pieces()) {
          assert.ok(msg(piece).length <= 64 * 1024, `${msg(piece).length}`);
        }
        // The other API was served throughout, by the replica it had.
        const outcomes = await victim.stop();
        assert.ok(
          outcomes.every((o) => o.status === 200),
          JSON.stringify(tally(outcomes)),
        );
        const replaced = lines().filter((l) =>
          labels(l).component === "server" && /victim-\d/.test(msg(l)) &&
          /hung|replac/.test(msg(l))
        );
        assert.deepEqual(replaced.map(msg), []);
      },
    );
  });
}
