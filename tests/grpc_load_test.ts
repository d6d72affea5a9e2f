/**
 * A bounded gRPC load test against `cortex serve`: 20,000 unary calls, 32 at
 * a time, through the replicas. Every call must succeed, and the serving
 * process must not die (grpc-js under Deno has died with SIGSEGV; the
 * supervisor would log and restart it, which this test treats as failure).
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import {
  childrenOf,
  E2eClient,
  freePort,
  registryOf,
  servingProcess,
} from "./fixtures/grpc_support/client.ts";

const PROJECT = fixture("grpc_e2e");
const CALLS = 20_000;
const CONCURRENCY = 32;
const BUDGET_MS = 60_000;

const deaths = (lines: LogLine[]) =>
  lines.filter((l) => String(l.message).startsWith("Serving process died"))
    .map((l) => String(l.message));

Deno.test(`grpc load: ${CALLS} unary calls, ${CONCURRENCY} concurrent, no failure and no restart`, async () => {
  const registry = await registryOf(PROJECT, "e2e.proto");
  const port = await freePort();
  const grpcPort = await freePort();
  await withServer(
    PROJECT,
    { port, grpcPort },
    async ({ pid, lines, stderr }) => {
      const serving = await servingProcess(pid);
      const client = new E2eClient(grpcPort, registry, "e2e.v1.E2e");
      const failures = new Map<string, number>();
      let ok = 0;
      let next = 0;
      const started = Date.now();
      const deadline = started + BUDGET_MS;
      try {
        const payload = new Uint8Array(256).fill(7);
        await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
          while (next < CALLS && Date.now() < deadline) {
            const i = next++;
            try {
              const { message } = await client.unary("Unary", {
                text: `n${i}`,
                data: payload,
              }, {
                deadline: new Date(Date.now() + 10_000),
              });
              if (message.text !== `N${i}` || message.count !== 256n) {
                throw new Error(`wrong reply ${message.text}`);
              }
              ok++;
            } catch (err) {
              const e = err as {
                code?: number;
                details?: string;
                message?: string;
              };
              const key = `${e.code ?? "?"} ${e.details ?? e.message}`.slice(
                0,
                200,
              );
              failures.set(key, (failures.get(key) ?? 0) + 1);
            }
          }
        }));
      } finally {
        client.close();
      }
      const elapsed = Date.now() - started;

      // Closing the client sends GOAWAY on a connection that carried many
      // streams; Deno's nghttp2 has aborted on that (denoland/deno#36788).
      // Calls on a fresh connection give the server time to read it.
      const fresh = new E2eClient(grpcPort, registry, "e2e.v1.E2e");
      let afterClose = 0;
      try {
        for (let i = 0; i < 100; i++) {
          await fresh.unary("Unary", { text: "after" }, {
            deadline: new Date(Date.now() + 2_000),
          })
            .then(() => afterClose++, () => {});
        }
      } finally {
        fresh.close();
      }
      const servingNow = await childrenOf(pid, "serve_main.ts");
      const crash = stderr().split("\n").filter((l) =>
        /nghttp2|Assertion|Segmentation|panick/i.test(l)
      );
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `grpc load: ${ok}/${CALLS} OK in ${elapsed} ms (${
            Math.round(ok / (elapsed / 1000))
          } calls/s); ` +
            `${afterClose}/100 OK on a fresh connection after the client closed; ` +
            `serving process ${serving} -> ${JSON.stringify(servingNow)}; ` +
            `supervisor: ${JSON.stringify(deaths(lines()))}; stderr: ${
              JSON.stringify(crash)
            }\n`,
        ),
      );

      assert.deepEqual(
        Object.fromEntries(failures),
        {},
        "failed calls by status",
      );
      assert.equal(ok, CALLS, `only ${ok} calls in ${BUDGET_MS} ms`);
      assert.ok(elapsed < BUDGET_MS, `took ${elapsed} ms`);
      assert.deepEqual(
        { servingNow, deaths: deaths(lines()), stderr: crash, afterClose },
        { servingNow: [serving], deaths: [], stderr: [], afterClose: 100 },
        "the serving process died and was restarted (SIGSEGV/SIGABRT in nghttp2?)",
      );
      const replaced = lines().filter((l) =>
        /crashed|hung|replacing it/.test(String(l.message))
      );
      assert.deepEqual(
        replaced.map((l) => l.message),
        [],
        "no replica replaced",
      );
    },
  );
});
