/**
 * Replicas started before the serving process has loaded (issue 17,
 * src/server/replica_prestart.ts): with a known HTTP port, the first replica
 * of each API is started early and adopted by its pool, which checks that it
 * was started with the very command (grants) it computes; with `--port 0`
 * nothing is prestarted.
 */

import assert from "node:assert/strict";
import {
  example,
  fixture,
  type LogLine,
  messages,
  withServer,
} from "./_server.ts";

const PRESTARTED =
  /^Replica "([\w-]+)" of API "(\w+)" was started before the server loaded \(prestarted\)$/;
const STARTED_AGAIN = /is started again: the command it was prestarted with/;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

const prestarted = (lines: LogLine[]) =>
  messages(lines).flatMap((m) => {
    const match = PRESTARTED.exec(m);
    return match ? [`${match[2]}:${match[1]}`] : [];
  });

Deno.test("prestart: the only HTTP API's first replica is prestarted, adopted and serves on the port", async () => {
  const port = freePort();
  await withServer(example("hello"), {
    port,
    args: ["--host", "127.0.0.1", "--log-level", "debug"],
  }, async (s) => {
    const res = await fetch(`http://127.0.0.1:${port}/hello`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name":"Ann"}',
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).replica, "hello-1");
    assert.deepEqual(prestarted(s.lines()), ["hello:hello-1"]);
    assert.ok(!messages(s.lines()).some((m) => STARTED_AGAIN.test(m)));
  });
});

Deno.test("prestart: with two HTTP APIs (the serving process routes) each first replica is prestarted", async () => {
  const port = freePort();
  await withServer(fixture("limits_pair"), {
    port,
    args: ["--host", "127.0.0.1", "--log-level", "debug"],
  }, async (s) => {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200, await health.text());
    assert.deepEqual(prestarted(s.lines()).sort(), [
      "other:other-2",
      "small:small-1",
    ]);
    assert.ok(!messages(s.lines()).some((m) => STARTED_AGAIN.test(m)));
  });
});

Deno.test("prestart: with --port 0 nothing is prestarted", async () => {
  await withServer(example("hello"), {
    args: ["--log-level", "debug"],
  }, async (s) => {
    const res = await fetch(`${s.url}/hello`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepEqual(prestarted(s.lines()), []);
  });
});
