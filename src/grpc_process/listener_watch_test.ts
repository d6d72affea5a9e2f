import assert from "node:assert/strict";
import {
  probeListener,
  type ProbeResult,
  watchListener,
} from "./listener_watch.ts";

Deno.test("probeListener(): accepted when the server sends a frame, silent when nobody accepts, unknown when it cannot connect", async () => {
  // Answers every connection with an empty SETTINGS frame.
  const answering = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of answering) {
      await conn.write(new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0]));
      conn.close();
    }
  })();
  // Listens, never accepts: connections wait in the kernel's backlog.
  const deaf = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = closed.addr.port;
  closed.close();
  try {
    assert.equal(
      await probeListener("127.0.0.1", answering.addr.port, 2_000),
      "accepted",
    );
    assert.equal(
      await probeListener("127.0.0.1", deaf.addr.port, 200),
      "silent",
    );
    assert.equal(await probeListener("127.0.0.1", closedPort, 200), "unknown");
  } finally {
    answering.close();
    deaf.close();
    await serving.catch(() => {});
  }
});

Deno.test("watchListener(): dead after the given silent probes in a row; an accepted probe resets, an unknown one does not count", async () => {
  const results: ProbeResult[] = [
    "silent",
    "silent",
    "accepted",
    "silent",
    "unknown",
    "silent",
    "silent",
  ];
  let probes = 0;
  const dead = Promise.withResolvers<number>();
  const stop = watchListener({
    hostname: "127.0.0.1",
    port: 1,
    intervalMs: 1,
    timeoutMs: 1,
    silentProbes: 3,
    probe: () => Promise.resolve(results[probes++] ?? "accepted"),
    onDead: (ms) => dead.resolve(ms),
  });
  try {
    await dead.promise;
    assert.equal(probes, 7);
  } finally {
    stop();
  }
});
