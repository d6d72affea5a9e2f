/**
 * A bounded gRPC load test against `cortex serve`: 20,000 unary calls, 32 at
 * a time, through the replicas, with HTTP traffic alongside. Every call must
 * succeed and HTTP must be unaffected throughout.
 *
 * Closing a client that carried many concurrent streams has crashed Deno's
 * node:http2 (nghttp2 assertion → SIGABRT, denoland/deno#36788). grpc-js runs
 * in the gRPC process, so such a crash is tolerated: the supervisor restarts
 * that process alone, the serving process (HTTP) must stay up, and gRPC must
 * answer again within seconds. The test reports whether it happened.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import {
  childrenOf,
  E2eClient,
  grpcProcess,
  httpLoad,
  pollUntil,
  registryOf,
  servingProcess,
} from "./fixtures/grpc_support/client.ts";

const PROJECT = fixture("grpc_e2e");
const CALLS = 20_000;
const CONCURRENCY = 32;
const BUDGET_MS = 60_000;

const deaths = (lines: LogLine[], who: string) =>
  lines.filter((l) => String(l.message).startsWith(`${who} died`))
    .map((l) => String(l.message));

Deno.test(`grpc load: ${CALLS} unary calls, ${CONCURRENCY} concurrent, no failure, HTTP unaffected`, async () => {
  const registry = await registryOf(PROJECT, "e2e.proto");
  await withServer(
    PROJECT,
    {},
    async ({ url, grpcPort, pid, lines, stderr }) => {
      const serving = await servingProcess(pid);
      const grpc = await grpcProcess(pid);
      const http = httpLoad(url, 5);
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
      // A fresh client must be answered again within seconds either way.
      const closedAt = Date.now();
      const fresh = new E2eClient(grpcPort, registry, "e2e.v1.E2e", {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 500,
      });
      let afterClose = 0;
      let backMs = 0;
      try {
        await new Promise((r) => setTimeout(r, 500)); // let a crash happen
        await pollUntil(
          "gRPC after the client closed",
          async () => {
            await fresh.unary("Unary", { text: "probe" }, {
              deadline: new Date(Date.now() + 1_000),
            });
            return true;
          },
          15_000,
          20,
        );
        backMs = Date.now() - closedAt;
        for (let i = 0; i < 100; i++) {
          await fresh.unary("Unary", { text: "after" }, {
            deadline: new Date(Date.now() + 2_000),
          }).then(() => afterClose++, () => {});
        }
      } finally {
        fresh.close();
      }
      await new Promise((r) => setTimeout(r, 300));
      const httpStats = await http.stop();
      const servingNow = await childrenOf(pid, "serve_main.ts");
      const grpcNow = await childrenOf(pid, "grpc_process/main.ts");
      const crash = stderr().split("\n").filter((l) =>
        /nghttp2|Assertion|Segmentation|panick/i.test(l)
      );
      const grpcDeaths = deaths(lines(), "gRPC process");
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `grpc load: ${ok}/${CALLS} OK in ${elapsed} ms (${
            Math.round(ok / (elapsed / 1000))
          } calls/s); gRPC answered ${backMs} ms after the client closed, ` +
            `then ${afterClose}/100 OK; gRPC process ${grpc} -> ${
              JSON.stringify(grpcNow)
            } (deaths: ${JSON.stringify(grpcDeaths)}; stderr: ${
              JSON.stringify(crash)
            }); serving process ${serving} -> ${JSON.stringify(servingNow)}; ` +
            `HTTP: ${httpStats.ok} OK, /healthz ${httpStats.healthOk} OK, ${httpStats.failures.length} failed\n`,
        ),
      );

      assert.deepEqual(
        Object.fromEntries(failures),
        {},
        "failed calls by status",
      );
      assert.equal(ok, CALLS, `only ${ok} calls in ${BUDGET_MS} ms`);
      assert.ok(elapsed < BUDGET_MS, `took ${elapsed} ms`);
      assert.equal(afterClose, 100, "calls on a fresh connection");
      assert.ok(backMs < 10_000, `gRPC back after ${backMs} ms`);
      assert.deepEqual(
        { servingNow, deaths: deaths(lines(), "Serving process") },
        { servingNow: [serving], deaths: [] },
        "the serving process (HTTP) never died",
      );
      assert.deepEqual(httpStats.failures, [], "no HTTP request failed");
      assert.ok(httpStats.ok > 0 && httpStats.healthOk > 0);
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
