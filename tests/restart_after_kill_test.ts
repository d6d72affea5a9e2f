/**
 * `cortex serve` restarted right after its previous run was SIGKILLed (the
 * whole process group, as a container runtime or `kill -9 -- -PGID` does):
 * the killed serving process may still be a zombie, which holds no socket,
 * so the port guard must let the new run start.
 */

import assert from "node:assert/strict";
import { fixture, runToExit, withServer } from "./_server.ts";
import { pollUntil } from "./_metrics.ts";

Deno.test("serve: a restart right after SIGKILL of the previous run starts on the same port", async () => {
  const runtimeDir = await Deno.makeTempDir({ prefix: "cortex-xdg-" });
  const env = { XDG_RUNTIME_DIR: runtimeDir };
  const project = fixture("methods");
  // The first run binds port 0; the restart asks for the port it got.
  let port = 0;
  try {
    let servingPid = 0;
    await withServer(
      project,
      { env, detached: true },
      async ({ pid, url, proc, port: bound }) => {
        port = bound;
        assert.equal(
          (await fetch(`${url}/items`).then((r) => r.json())).items.length,
          2,
        );
        const state = await pollUntil(
          "the state file",
          10_000,
          async () =>
            JSON.parse(
              await Deno.readTextFile(`${runtimeDir}/cortex/${port}.json`),
            ),
        );
        servingPid = state.pid;
        assert.notEqual(servingPid, pid, "the state names the serving process");
        // While it runs, a second serve on its port is refused.
        const second = await runToExit(project, {
          port,
          env,
          timeoutMs: 30_000,
        });
        assert.notEqual(second.code, 0);
        assert.match(
          second.stderr,
          new RegExp(
            `Port ${port} is already served by cortex \\(process ${servingPid}\\)`,
          ),
        );
        Deno.kill(-pid, "SIGKILL");
        await proc.status;
      },
    );
    // Restart at once, while the killed serving process may be unreaped.
    await withServer(
      project,
      { port, env, readyTimeoutMs: 30_000 },
      async ({ url }) => {
        const res = await fetch(`${url}/items`);
        assert.equal(res.status, 200);
        await res.body?.cancel();
      },
    );
  } finally {
    await Deno.remove(runtimeDir, { recursive: true }).catch(() => {});
  }
});
