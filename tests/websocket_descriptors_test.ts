/**
 * With a WebSocket API among several HTTP APIs the serving process listens
 * with Deno's listener-based server, whose loop ends when an accept fails
 * (EMFILE) and rejects a promise nobody handled: a client holding more
 * connections than the serving process had descriptors ended the serving
 * process, and with it every API's replicas (the supervisor restarted it).
 * Now the serving process listens again after a pause
 * (src/http/upgradable_server.ts, `relisten`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import { pollUntil } from "./_metrics.ts";

const msg = (l: LogLine) => String(l.message ?? "");

Deno.test("websocket listener: connections beyond the serving process's descriptors are refused, the process lives and listens again", async () => {
  await withServer(
    fixture("websocket_pair"),
    { wrap: ["prlimit", "--nofile=256:256"] },
    async ({ url, port, lines }) => {
      const res = await fetch(`${url}/plain`);
      assert.equal(res.status, 200, await res.text());
      // More connections than the process has descriptors, held, then let go.
      const conns: Deno.TcpConn[] = [];
      for (let i = 0; i < 400; i++) {
        try {
          conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
        } catch {
          break; // refused while it binds again
        }
      }
      const died = () =>
        lines().filter((l) => /Serving process died/.test(msg(l))).map(msg);
      await pollUntil(
        "the failed accept logged, or the serving process gone",
        10_000,
        () =>
          died().length > 0 ||
          lines().some((l) => /^Cannot accept a connection/.test(msg(l))),
      );
      for (const conn of conns) conn.close();
      assert.deepEqual(died(), [], "the serving process died");
      await new Promise((r) => setTimeout(r, 1_500));
      for (let i = 0; i < 10; i++) {
        const again = await fetch(`${url}/plain`, {
          signal: AbortSignal.timeout(5_000),
        });
        assert.equal(again.status, 200, await again.text());
      }
      assert.deepEqual(died(), [], "the serving process died");
    },
  );
});
