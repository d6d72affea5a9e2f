/**
 * `cortex serve` keeps a gRPC project up when its serving process dies with
 * SIGSEGV (as grpc-js under Deno has done): the supervisor logs the death and
 * restarts it, and HTTP and gRPC answer again within seconds.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import {
  E2eClient,
  freePort,
  pollUntil,
  registryOf,
  servingProcess,
} from "./fixtures/grpc_support/client.ts";

const PROJECT = fixture("grpc_e2e");
/** True while `pid` exists and is not a zombie. */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `grep -s '^State:' /proc/${pid}/status`],
    stdout: "piped",
  }).output();
  const state = new TextDecoder().decode(out.stdout);
  return state !== "" && !/\bZ\b/.test(state);
}

const isSupervisor = (l: LogLine) =>
  (l.labels as Record<string, unknown> | undefined)?.component === "supervisor";

Deno.test("grpc crash: the supervisor restarts a serving process killed with SIGSEGV", async () => {
  const registry = await registryOf(PROJECT, "e2e.proto");
  // Fixed ports: the restarted process must come back where clients are.
  const port = await freePort();
  const grpcPort = await freePort();
  await withServer(
    PROJECT,
    { port, grpcPort },
    async ({ url, pid, waitForLine, lines }) => {
      const client = new E2eClient(grpcPort, registry, "e2e.v1.E2e", {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 500,
      });
      try {
        assert.equal(
          (await client.unary("Unary", { text: "before" })).message.text,
          "BEFORE",
        );
        const serving = await servingProcess(pid);
        const servingLines = lines().filter((l) =>
          String(l.message).startsWith("Serving on ")
        )
          .length;

        // The first SIGSEGV sent by kill() can be swallowed: V8's WebAssembly
        // trap handler catches SIGSEGV, sees no fault of its own, uninstalls
        // itself and returns. So send it until the process is gone (bounded).
        let sent = 0;
        await pollUntil(
          "the serving process to die of SIGSEGV",
          async () => {
            if (!(await alive(serving))) return true;
            Deno.kill(serving, "SIGSEGV");
            sent++;
            return false;
          },
          5_000,
          200,
        );
        assert.ok(sent >= 1);
        Deno.stderr.writeSync(
          new TextEncoder().encode(
            `serving process ${serving} died after ${sent} SIGSEGV(s)\n`,
          ),
        );
        const died = await waitForLine(
          (l) =>
            isSupervisor(l) &&
            String(l.message).startsWith("Serving process died"),
          5_000,
        );
        assert.equal(died.levelname, "ERROR");
        assert.match(
          String(died.message),
          /Serving process died \(signal SIGSEGV\); restarting in \d+ ms/,
        );

        const killedAt = Date.now();
        const health = await pollUntil(
          "/healthz 200 after the restart",
          async () => {
            const res = await fetch(`${url}/healthz`, {
              signal: AbortSignal.timeout(1_000),
            });
            const body = await res.json();
            return res.status === 200 ? body : null;
          },
          15_000,
        );
        assert.equal(health.status, "ok");
        const reply = await pollUntil(
          "a gRPC call after the restart",
          async () => {
            const { message } = await client.unary("Unary", { text: "after" }, {
              deadline: new Date(Date.now() + 1_000),
            });
            return message;
          },
          15_000,
        );
        assert.equal(reply.text, "AFTER");
        const elapsed = Date.now() - killedAt;
        assert.ok(elapsed < 10_000, `back after ${elapsed} ms`);

        const again = await servingProcess(pid);
        assert.notEqual(again, serving, "a new serving process");
        assert.ok(
          lines().filter((l) => String(l.message).startsWith("Serving on "))
            .length > servingLines,
          "the new process logged Serving on",
        );
        assert.equal(
          lines().filter((l) =>
            isSupervisor(l) && /died/.test(String(l.message))
          ).length,
          1,
        );
      } finally {
        client.close();
      }
    },
  );
});
