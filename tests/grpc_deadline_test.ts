/**
 * gRPC deadlines from `handler.request_timeout`, end to end: `cortex serve`
 * on a fixture whose API has a 1 s request timeout and admits one call at a
 * time, called with a stock @grpc/grpc-js client over a real socket.
 */

import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { fixture, withServer } from "./_server.ts";
import { scrape } from "./_metrics.ts";
import {
  E2eClient,
  registryOf,
  rejected,
} from "./fixtures/grpc_support/client.ts";

const PROJECT = fixture("grpc_timeout");
const SERVICE = "timeout.v1.Timeout";
const API = { api: "grpc-timeout" };
const Code = grpc.status;

/** A call that must end by itself well before the handler's 20 s sleep. */
async function timedOut(
  client: E2eClient,
  tag: string,
  deadline: Date,
): Promise<{ err: grpc.ServiceError; ms: number }> {
  const started = Date.now();
  const err = await rejected(
    client.unary("Sleep", { tag, sleepMs: 20_000 }, { deadline }),
  );
  return { err, ms: Date.now() - started };
}

Deno.test("grpc deadline: request_timeout bounds every call and frees its slot at once", async (t) => {
  const registry = await registryOf(PROJECT, "timeout.proto");
  await withServer(PROJECT, {}, async ({ url, grpcPort, waitForLine }) => {
    const client = new E2eClient(grpcPort, registry, SERVICE);
    try {
      await t.step("warm up", async () => {
        const { message } = await client.unary("Quick", { tag: "warm" });
        assert.equal(message.tag, "warm");
      });

      await t.step(
        "a 20 s handler with a later client deadline ends DEADLINE_EXCEEDED in ~1 s",
        async () => {
          const { err, ms } = await timedOut(
            client,
            "late-deadline",
            new Date(Date.now() + 6_000),
          );
          assert.equal(err.code, Code.DEADLINE_EXCEEDED, err.details);
          assert.ok(ms >= 900 && ms < 2_500, `ended after ${ms} ms`);
          const aborted = await waitForLine((l) =>
            l.message === "Sleep aborted" && l.tag === "late-deadline"
          );
          assert.equal(aborted.code, Code.DEADLINE_EXCEEDED);
          const started = await waitForLine((l) =>
            l.message === "Sleep started" && l.tag === "late-deadline"
          );
          assert.equal(typeof started.deadline, "number");
        },
      );

      await t.step(
        "the slot is free at once: the next call is admitted and answered",
        async () => {
          const { message } = await client.unary("Quick", { tag: "after-1" }, {
            deadline: new Date(Date.now() + 900),
          });
          assert.equal(message.tag, "after-1");
        },
      );

      await t.step(
        "a call without a client deadline ends DEADLINE_EXCEEDED in ~1 s too",
        async () => {
          // No grpc-timeout header at all; the test cancels after 8 s, only
          // as a guard.
          const started = Date.now();
          const { promise, resolve } = Promise.withResolvers<
            grpc.ServiceError | null
          >();
          const call = client.unaryCall("Sleep", {
            tag: "no-deadline",
            sleepMs: 20_000,
          }, resolve);
          const guard = setTimeout(() => call.cancel(), 8_000);
          const err = await promise.finally(() => clearTimeout(guard));
          const ms = Date.now() - started;
          assert.ok(err, "the call failed");
          assert.equal(err.code, Code.DEADLINE_EXCEEDED, err.details);
          assert.ok(ms >= 900 && ms < 2_500, `ended after ${ms} ms`);
          const aborted = await waitForLine((l) =>
            l.message === "Sleep aborted" && l.tag === "no-deadline"
          );
          assert.equal(aborted.code, Code.DEADLINE_EXCEEDED);
        },
      );

      await t.step(
        "an earlier client deadline still wins",
        async () => {
          const { err, ms } = await timedOut(
            client,
            "early-deadline",
            new Date(Date.now() + 300),
          );
          assert.equal(err.code, Code.DEADLINE_EXCEEDED);
          assert.ok(ms < 900, `ended after ${ms} ms`);
        },
      );

      await t.step(
        "in flight back to 0 while the handlers still sleep",
        async () => {
          const { message } = await client.unary("Quick", { tag: "after-2" }, {
            deadline: new Date(Date.now() + 900),
          });
          assert.equal(message.tag, "after-2");
          const m = await scrape(url);
          assert.equal(m.get("cortex_in_flight_requests", API), 0);
          assert.equal(m.get("cortex_queued_requests", API), 0);
        },
      );
    } finally {
      client.close();
    }
  });
});
