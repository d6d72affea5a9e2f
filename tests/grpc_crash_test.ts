/**
 * `cortex serve` survives a crash of grpc-js (node:http2 in Deno has died with
 * SIGSEGV and SIGABRT, denoland/deno#36788): grpc-js runs in its own gRPC
 * process, so when that dies the supervisor restarts it alone. HTTP requests
 * in flight meanwhile all succeed, /healthz never fails, the gRPC call in
 * flight is cancelled in its replica, and gRPC answers again within seconds
 * on the port the first gRPC process bound.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import {
  E2eClient,
  grpcProcess,
  httpLoad,
  pollUntil,
  registryOf,
  servingProcess,
} from "./fixtures/grpc_support/client.ts";
import { requestReplacement } from "./_supervisor.ts";

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

Deno.test("grpc crash: the gRPC process dies of SIGSEGV, HTTP is unaffected and gRPC comes back", async () => {
  const registry = await registryOf(PROJECT, "e2e.proto");
  // --grpc-port 0: the restarted gRPC process must come back on the port
  // the first one bound, where clients are.
  await withServer(
    PROJECT,
    { grpcPort: 0 },
    async ({ url, pid, grpcPort, waitForLine, lines }) => {
      const client = new E2eClient(grpcPort, registry, "e2e.v1.E2e", {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 500,
      });
      const load = httpLoad(url, 9);
      try {
        assert.equal(
          (await client.unary("Unary", { text: "before" })).message.text,
          "BEFORE",
        );
        const serving = await servingProcess(pid);
        const grpc = await grpcProcess(pid);
        // A gRPC call in flight during the crash, held by a replica.
        const slow = client.unary("Slow", { text: "crash", delayMs: 0 }).then(
          () => null,
          (err: { code: number }) => err,
        );
        await waitForLine((l) =>
          l.message === "Slow started" && l.tag === "crash"
        );
        await new Promise((r) => setTimeout(r, 300)); // HTTP requests in flight

        // The first SIGSEGV sent by kill() can be swallowed: V8's WebAssembly
        // trap handler catches SIGSEGV, sees no fault of its own, uninstalls
        // itself and returns. So send it until the process is gone (bounded).
        let sent = 0;
        let diedAt = 0;
        await pollUntil(
          "the gRPC process to die of SIGSEGV",
          async () => {
            if (!(await alive(grpc))) return diedAt = Date.now();
            Deno.kill(grpc, "SIGSEGV");
            sent++;
            return false;
          },
          5_000,
          100,
        );
        const killedAt = Date.now();
        const died = await waitForLine(
          (l) =>
            isSupervisor(l) &&
            String(l.message).startsWith("gRPC process died"),
          5_000,
        );
        assert.equal(died.levelname, "ERROR");
        assert.match(
          String(died.message),
          /gRPC process died \(signal SIGSEGV\); restarting in \d+ ms/,
        );
        // The call in flight fails at once and its replica is told to stop.
        const slowErr = await slow;
        assert.equal(slowErr?.code, 14, "UNAVAILABLE for the call in flight");
        const aborted = await waitForLine((l) =>
          l.message === "Slow aborted" && l.tag === "crash"
        );
        assert.equal(aborted.code, 1, "CANCELLED in the replica");

        const reply = await pollUntil(
          "a gRPC call after the restart",
          async () => {
            const { message } = await client.unary("Unary", { text: "after" }, {
              deadline: new Date(Date.now() + 1_000),
            });
            return message;
          },
          15_000,
          20,
        );
        const recoveryMs = Date.now() - killedAt;
        assert.equal(reply.text, "AFTER");
        await new Promise((r) => setTimeout(r, 300)); // more HTTP after it
        const stats = await load.stop();
        const across = stats.spans.filter(([a, b]) =>
          a <= diedAt && b >= diedAt
        )
          .length;
        Deno.stderr.writeSync(
          new TextEncoder().encode(
            `gRPC process ${grpc} died after ${sent} SIGSEGV(s); gRPC answered again ${recoveryMs} ms later; HTTP meanwhile: ${stats.ok} OK (${across} in flight at the crash), /healthz ${stats.healthOk} OK, ${stats.failures.length} failed\n`,
          ),
        );
        assert.ok(recoveryMs < 5_000, `gRPC back after ${recoveryMs} ms`);
        assert.deepEqual(stats.failures, [], "no HTTP request failed");
        assert.ok(across >= 1, "HTTP requests were in flight at the crash");
        assert.ok(stats.healthOk > 5, JSON.stringify(stats.healthOk));

        assert.equal(
          await servingProcess(pid),
          serving,
          "same serving process",
        );
        assert.notEqual(await grpcProcess(pid), grpc, "a new gRPC process");
        assert.deepEqual(
          lines().filter((l) =>
            isSupervisor(l) && /died/.test(String(l.message))
          ).map((l) => l.message),
          [died.message],
        );
        assert.ok(
          lines().some((l) =>
            String(l.message) ===
              "gRPC process disconnected: cancelled 1 call(s) in flight"
          ),
        );
      } finally {
        await load.stop();
        client.close();
      }
    },
  );
});

Deno.test("grpc crash: when the serving process dies, the gRPC process stays and reconnects", async () => {
  const registry = await registryOf(PROJECT, "e2e.proto");
  // The gRPC process outlives the serving process: port 0 for both.
  await withServer(
    PROJECT,
    {},
    async ({ url, grpcPort, pid, waitForLine }) => {
      const client = new E2eClient(grpcPort, registry, "e2e.v1.E2e");
      try {
        await client.unary("Unary", { text: "before" });
        const serving = await servingProcess(pid);
        const grpc = await grpcProcess(pid);
        Deno.kill(serving, "SIGKILL");
        const killedAt = Date.now();
        await waitForLine((l) =>
          isSupervisor(l) &&
          String(l.message).startsWith("Serving process died (signal SIGKILL)")
        );
        const reply = await pollUntil(
          "a gRPC call after the restart",
          () =>
            client.unary("Unary", { text: "after" }, {
              deadline: new Date(Date.now() + 1_000),
            }).then((r) => r.message),
          15_000,
          20,
        );
        const backMs = Date.now() - killedAt;
        assert.equal(reply.text, "AFTER");
        // The new serving process binds HTTP on its own schedule: gRPC may
        // answer (through the same gRPC process) a moment before.
        await pollUntil(
          "/healthz after the restart",
          async () => {
            const res = await fetch(`${url}/healthz`);
            await res.body?.cancel();
            return res.status === 200;
          },
          5_000,
          20,
        );
        assert.equal(await grpcProcess(pid), grpc, "same gRPC process");
        assert.notEqual(await servingProcess(pid), serving);
        Deno.stderr.writeSync(
          new TextEncoder().encode(
            `serving process killed: gRPC answered again after ${backMs} ms\n`,
          ),
        );
      } finally {
        client.close();
      }
    },
  );
});

Deno.test("grpc crash: SIGTERM drains a gRPC call in flight through both processes", async () => {
  const registry = await registryOf(PROJECT, "e2e.proto");
  await withServer(
    PROJECT,
    {},
    async ({ grpcPort, proc, waitForLine, lines }) => {
      const client = new E2eClient(grpcPort, registry, "e2e.v1.E2e");
      try {
        const slow = client.unary("Slow", { text: "drain", delayMs: 800 });
        await waitForLine((l) =>
          l.message === "Slow started" && l.tag === "drain"
        );
        proc.kill("SIGTERM");
        assert.equal((await slow).message.text, "done");
        assert.equal((await proc.status).code, 0);
        const stopped = lines().filter((l) => l.message === "Stopped")
          .map((l) => (l.labels as Record<string, unknown>).component).sort();
        assert.deepEqual(stopped, ["grpc", "server"]);
      } finally {
        client.close();
      }
    },
  );
});

Deno.test("grpc crash: when the supervisor replaces the serving process, gRPC and HTTP keep answering", async () => {
  const registry = await registryOf(PROJECT, "e2e.proto");
  // The gRPC process outlives the serving process: port 0 for both.
  await withServer(
    PROJECT,
    {},
    async ({ url, grpcPort, pid, waitForLine }) => {
      const client = new E2eClient(grpcPort, registry, "e2e.v1.E2e");
      const load = httpLoad(url, 4);
      try {
        await client.unary("Unary", { text: "before" });
        const serving = await servingProcess(pid);
        const grpc = await grpcProcess(pid);
        // What the serving process writes when a replica's thread is stuck.
        await requestReplacement(serving);
        const replaced = await waitForLine(
          (l) =>
            isSupervisor(l) &&
            String(l.message).startsWith("Serving process replaced"),
          60_000,
        );
        assert.equal(replaced.oldPid, serving);
        await waitForLine(
          (l) =>
            isSupervisor(l) &&
            l.message === `Replaced serving process (pid ${serving}) exited`,
          40_000,
        );
        assert.equal(await alive(serving), false);
        const stats = await load.stop();
        Deno.stderr.writeSync(
          new TextEncoder().encode(
            `serving process replaced: HTTP meanwhile ${stats.ok} OK, /healthz ${stats.healthOk} OK, ${stats.failures.length} failed ${
              JSON.stringify(stats.failures.slice(0, 3))
            }\n`,
          ),
        );
        // The gRPC process reconnects to the new one on the same socket path.
        const reply = await pollUntil(
          "a gRPC call after the replacement",
          () =>
            client.unary("Unary", { text: "after" }, {
              deadline: new Date(Date.now() + 1_000),
            }).then((r) => r.message),
          15_000,
          20,
        );
        assert.equal(reply.text, "AFTER");
        assert.equal(await grpcProcess(pid), grpc, "same gRPC process");
        assert.equal(await servingProcess(pid), replaced.newPid);
        for (let i = 0; i < 10; i++) {
          const res = await fetch(`${url}/healthz`);
          assert.equal(res.status, 200);
          await res.body?.cancel();
          assert.equal(
            (await client.unary("Unary", { text: `n${i}` })).message.text,
            `N${i}`,
          );
        }
      } finally {
        await load.stop();
        client.close();
      }
    },
  );
});
