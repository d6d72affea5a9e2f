import assert from "node:assert/strict";
import {
  KeptAliveClient,
  KeptAliveLoad,
  parseResponse,
  windowStats,
} from "./keepalive.ts";
import { metricValue, phase } from "./scenarios/keepalive.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("parseResponse() reads Content-Length and chunked bodies, and waits for the rest", () => {
  const fixed = bytes(
    "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloHTTP/1.1",
  );
  const got = parseResponse(fixed)!;
  assert.equal(got.response.status, 200);
  assert.equal(got.response.body, "hello");
  assert.equal(got.used, fixed.length - "HTTP/1.1".length);
  assert.equal(parseResponse(fixed.subarray(0, 40)), null);

  const chunked = bytes(
    "HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
  );
  const c = parseResponse(chunked)!;
  assert.equal(c.response.status, 503);
  assert.equal(c.response.body, "abcde");
  assert.equal(c.used, chunked.length);
  assert.equal(parseResponse(chunked.subarray(0, chunked.length - 2)), null);
  assert.throws(() => parseResponse(bytes("SSH-2.0\r\n\r\n")), SyntaxError);
});

Deno.test("KeptAliveClient keeps one connection, and reconnects when the server closes it", async () => {
  const ports: number[] = [];
  let n = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (_req, info) => {
      ports.push(info.remoteAddr.port);
      n++;
      // The third answer asks the client to go away.
      return Response.json({ replica: `r${n}` }, {
        headers: n === 3 ? { connection: "close" } : {},
      });
    },
  );
  try {
    const client = new KeptAliveClient("127.0.0.1", server.addr.port, "/x");
    for (let i = 0; i < 4; i++) {
      const res = await client.get();
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).replica, `r${i + 1}`);
    }
    assert.equal(new Set(ports.slice(0, 3)).size, 1);
    assert.notEqual(ports[3], ports[0]);
    assert.equal(client.connects, 2);
    client.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("KeptAliveLoad runs closed-loop clients and measures a window", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async () => {
      await new Promise((r) => setTimeout(r, 20));
      return Response.json({ replica: "only" });
    },
  );
  try {
    const load = new KeptAliveLoad("127.0.0.1", server.addr.port, "/", 2);
    await load.connect();
    load.start();
    const stats = await load.measure(0.3);
    await load.stop();
    assert.ok(
      stats.requests >= 10 && stats.requests <= 32,
      `${stats.requests}`,
    );
    assert.ok(stats.p50Ms >= 19, `p50 ${stats.p50Ms}`);
    assert.equal(stats.errors, 0);
    assert.equal(stats.servedBy, 1);
    assert.equal(load.connections, 2);
  } finally {
    await server.shutdown();
  }
});

Deno.test("windowStats() keeps the samples that ended in the window", () => {
  const s = (end: number, latencyMs: number, ok = true, replica = "a") => ({
    end,
    latencyMs,
    ok,
    replica,
  });
  const stats = windowStats(
    [
      s(500, 1),
      s(1_000, 100),
      s(1_500, 300, true, "b"),
      s(1_600, 50, false),
      s(2_000, 200),
      s(2_500, 9),
    ],
    1_000,
    2_000,
  );
  assert.deepEqual(stats, {
    requests: 3,
    durationS: 1,
    rps: 3,
    p50Ms: 200,
    p99Ms: 298,
    errors: 1,
    servedBy: 2,
  });
});

Deno.test("metricValue() and phase() read /metrics and set the ideal", () => {
  const text = [
    "# TYPE cortex_replicas gauge",
    'cortex_replicas{api="other"} 7',
    'cortex_replicas{api="slow"} 4',
    'cortex_handed_off_requests_total{api="slow"} 12',
  ].join("\n");
  assert.equal(metricValue(text, "cortex_replicas", "slow"), 4);
  assert.equal(
    metricValue(text, "cortex_handed_off_requests_total", "slow"),
    12,
  );
  assert.equal(metricValue(text, "cortex_queued_requests", "slow"), null);
  const one = phase({
    requests: 50,
    durationS: 5,
    rps: 10,
    p50Ms: 800,
    p99Ms: 900,
    errors: 0,
    servedBy: 1,
  }, 1);
  assert.equal(one.capacityRps, 10);
  assert.equal(one.idealP50Ms, 800);
  const four = phase({ ...one, servedBy: 4 }, 4);
  assert.equal(four.capacityRps, 40);
  assert.equal(four.idealP50Ms, 200);
});
