/** stuckReplicaHandler(): ask the supervisor once, or warn when unsupervised. */

import assert from "node:assert/strict";
import type { Server } from "./server.ts";
import { stuckReplicaHandler } from "./stuck_replica.ts";

function fakeServer() {
  const warnings: string[] = [];
  const server = {
    draining: false,
    logger: {
      warning: (m: string) => warnings.push(m),
      exception: (m: string) => warnings.push(m),
    },
  };
  return { server: server as unknown as Server & typeof server, warnings };
}

Deno.test("stuckReplicaHandler(): under the supervisor, writes one replace request", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { server, warnings } = fakeServer();
    const path = `${dir}/replace-request`;
    const onStuck = stuckReplicaHandler(() => server, path);
    onStuck("faults", "faults-1");
    onStuck("faults", "faults-2");
    await new Promise((r) => setTimeout(r, 50));
    const request = JSON.parse(await Deno.readTextFile(path));
    assert.match(request.reason, /replica "faults-1" of API "faults" is stuck/);
    assert.equal(request.pid, Deno.pid);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /asking the supervisor to replace/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stuckReplicaHandler(): without a supervisor, warns that only a restart helps", () => {
  const { server, warnings } = fakeServer();
  const onStuck = stuckReplicaHandler(() => server, undefined);
  onStuck("faults", "faults-1");
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /denoland\/deno#35657.*until this process is restarted/,
  );
});
