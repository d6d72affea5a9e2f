import assert from "node:assert/strict";
import { healthcheck, healthzUrl } from "./healthcheck.ts";

Deno.test("healthzUrl() targets loopback for wildcard hosts", async (t) => {
  const cases = [
    ["0.0.0.0", "http://127.0.0.1:8888/healthz"],
    ["::", "http://127.0.0.1:8888/healthz"],
    ["127.0.0.1", "http://127.0.0.1:8888/healthz"],
    ["10.1.2.3", "http://10.1.2.3:8888/healthz"],
    ["::1", "http://[::1]:8888/healthz"],
  ];
  for (const [host, want] of cases) {
    await t.step(host!, () => assert.equal(healthzUrl(host!, 8888), want));
  }
});

Deno.test("healthcheck() exits 0 on 200 and 1 on 503 or no server", async () => {
  let status = 200;
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    () => new Response("ok", { status }),
  );
  const url = `http://127.0.0.1:${server.addr.port}/healthz`;
  try {
    assert.equal(await healthcheck(url), 0);
    status = 503;
    assert.equal(await healthcheck(url), 1);
  } finally {
    ac.abort();
    await server.finished;
  }
  assert.equal(await healthcheck(url, 1_000), 1);
});
