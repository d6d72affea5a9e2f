/**
 * At the edge, attack first, over real sockets: CORS preflights, missing and
 * wrong API keys, bursts over the rate limit, keys in logs, and gRPC keys in
 * metadata (with a stock @grpc/grpc-js client). The single-API fixture runs
 * the checks in the replicas' own listeners; the two-API fixture in the
 * serving process's router; the gRPC fixture at gRPC admission.
 */

import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { fixture, type RunningServer, withServer } from "./_server.ts";
import { Metrics, parseMetrics, scrape } from "./_metrics.ts";
import {
  E2eClient,
  registryOf,
  rejected,
} from "./fixtures/grpc_support/client.ts";

const KEY = "edge-key-alpha-1";
const BURST_KEY = "edge-key-burst-2";
const RATE_KEY = "edge-key-rate-3";
const METRICS_KEY = "edge-metrics-key-9";
const SECRETS = [KEY, BURST_KEY, RATE_KEY, METRICS_KEY, "pair-key-1"];

/** A request on a connection of its own (the kernel picks the listener). */
async function fresh(url: string, init: RequestInit = {}): Promise<Response> {
  const client = Deno.createHttpClient({});
  try {
    const res = await fetch(url, { ...init, client });
    await res.body?.cancel().catch(() => {});
    return res;
  } finally {
    client.close();
  }
}

function assertNoSecretsLogged(s: RunningServer): void {
  const text = JSON.stringify(s.lines()) + s.stderr();
  for (const secret of SECRETS) {
    assert.ok(!text.includes(secret), `a key (${secret}) was logged`);
  }
}

Deno.test("edge, single HTTP API (checks in the replicas' listeners): CORS, keys, shared rate limit, /metrics key", async (t) => {
  await withServer(fixture("edge_single"), {
    env: {
      EDGE_KEYS: `${KEY},${BURST_KEY},${RATE_KEY}`,
      CORTEX_METRICS_KEYS: METRICS_KEY,
    },
  }, async (s) => {
    const url = `${s.url}/echo`;
    await t.step(
      "a browser preflight gets 204, not 405, without a key",
      async () => {
        const res = await fetch(url, {
          method: "OPTIONS",
          headers: {
            origin: "https://app.example.com",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, x-api-key",
          },
        });
        await res.body?.cancel();
        assert.equal(res.status, 204);
        assert.equal(res.headers.get("access-control-allow-origin"), "*");
        assert.equal(
          res.headers.get("access-control-allow-methods"),
          "POST, GET, HEAD",
        );
        assert.equal(res.headers.get("access-control-max-age"), "600");
        assert.equal(
          res.headers.get("access-control-allow-headers"),
          "content-type, x-api-key",
        );
      },
    );

    await t.step(
      "no key, a wrong key, a key in the query: 401 with WWW-Authenticate, CORS headers, x-request-id",
      async () => {
        for (
          const headers of [
            { origin: "https://app.example.com" },
            { "x-api-key": "guess", origin: "https://app.example.com" },
            { authorization: `Basic ${KEY}` },
          ] as Record<string, string>[]
        ) {
          const res = await fresh(`${url}?key=${KEY}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body: "{}",
          });
          assert.equal(res.status, 401, JSON.stringify(headers));
          assert.match(
            res.headers.get("www-authenticate")!,
            /^Bearer realm="echo"/,
          );
          assert.ok(res.headers.get("x-request-id"));
          if (headers.origin) {
            assert.equal(res.headers.get("access-control-allow-origin"), "*");
          }
        }
      },
    );

    await t.step(
      "the right key (Bearer or x-api-key) is served, with CORS headers for a browser",
      async () => {
        const res = await fetch(url, {
          method: "POST",
          headers: {
            authorization: `Bearer ${KEY}`,
            origin: "https://app.example.com",
            "content-type": "application/json",
          },
          body: '{"a":1}',
        });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), {
          payload: { a: 1 },
          sawKey: false,
        });
        assert.equal(res.headers.get("access-control-allow-origin"), "*");
        assert.equal(
          res.headers.get("access-control-expose-headers"),
          "x-request-id",
        );
        const other = await fetch(url, { headers: { "x-api-key": KEY } });
        assert.equal(other.status, 200);
        await other.body?.cancel();
      },
    );

    await t.step(
      "/healthz stays open; /metrics needs CORTEX_METRICS_KEYS",
      async () => {
        const health = await fetch(`${s.url}/healthz`);
        await health.body?.cancel();
        assert.equal(health.status, 200);
        const closed = await fetch(`${s.url}/metrics`);
        await closed.body?.cancel();
        assert.equal(closed.status, 401);
        const wrong = await fetch(`${s.url}/metrics`, {
          headers: { "x-api-key": KEY },
        });
        await wrong.body?.cancel();
        assert.equal(wrong.status, 401);
      },
    );

    await t.step(
      "a burst of 40 on fresh connections over 2 replicas: one budget (burst 5), the rest 429 with Retry-After",
      async () => {
        const started = performance.now();
        const results = await Promise.all(
          Array.from(
            { length: 40 },
            () => fresh(url, { headers: { "x-api-key": BURST_KEY } }),
          ),
        );
        const seconds = (performance.now() - started) / 1000;
        const ok = results.filter((r) => r.status === 200).length;
        const limited = results.filter((r) => r.status === 429);
        assert.equal(ok + limited.length, 40);
        // Replica-local buckets would admit up to 10 at once.
        assert.ok(
          ok >= 5 && ok <= 5 + Math.ceil(10 * seconds) + 1,
          `${ok} admitted in ${seconds.toFixed(2)} s`,
        );
        assert.ok(limited.length > 0);
        assert.ok(Number(limited[0]!.headers.get("retry-after")) >= 1);
      },
    );

    await t.step(
      "sustained: the admitted rate is within 10% of rps",
      async () => {
        const ms = 3000;
        const end = performance.now() + ms;
        let ok = 0;
        const loop = async () => {
          while (performance.now() < end) {
            const res = await fetch(url, {
              headers: { "x-api-key": RATE_KEY },
            });
            await res.body?.cancel();
            if (res.status === 200) ok++;
            else assert.equal(res.status, 429);
          }
        };
        await Promise.all([loop(), loop(), loop(), loop()]);
        const rate = (ok - 5) / (ms / 1000);
        assert.ok(Math.abs(rate - 10) <= 1, `admitted ${rate.toFixed(2)}/s`);
      },
    );

    await t.step(
      "/metrics, with its key, counts refusals by reason",
      async () => {
        const m = await scrapeWithKey(s.url);
        assert.ok(
          m.get("cortex_rejected_requests_total", {
            api: "echo",
            reason: "unauthorized",
          }) >= 3,
        );
        assert.ok(
          m.get("cortex_rejected_requests_total", {
            api: "echo",
            reason: "rate_limited",
          }) >= 1,
        );
      },
    );

    await t.step("no key is ever logged", () => assertNoSecretsLogged(s));
  });
});

async function scrapeWithKey(base: string) {
  const res = await fetch(`${base}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_KEY}` },
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  return new Metrics(text, parseMetrics(text));
}

Deno.test("edge, two HTTP APIs (checks in the serving process's router): CORS policies, method-scoped hashed keys, chained calls, per-client limit", async (t) => {
  await withServer(fixture("edge_pair"), {}, async (s) => {
    await t.step(
      "preflights: default policy on open; listed origin with credentials on closed, others 403",
      async () => {
        const pre = (path: string, origin: string) =>
          fetch(`${s.url}${path}`, {
            method: "OPTIONS",
            headers: { origin, "access-control-request-method": "POST" },
          });
        const open = await pre("/open", "https://anything.example");
        await open.body?.cancel();
        assert.equal(open.status, 204);
        assert.equal(open.headers.get("access-control-allow-origin"), "*");
        assert.equal(
          open.headers.get("access-control-allow-methods"),
          "GET, HEAD",
        );
        const app = await pre("/closed", "https://app.example.com");
        await app.body?.cancel();
        assert.equal(app.status, 204);
        assert.equal(
          app.headers.get("access-control-allow-origin"),
          "https://app.example.com",
        );
        assert.equal(
          app.headers.get("access-control-allow-credentials"),
          "true",
        );
        assert.equal(app.headers.get("access-control-max-age"), "120");
        const evil = await pre("/closed", "https://evil.example");
        await evil.body?.cancel();
        assert.equal(evil.status, 403);
        assert.equal(evil.headers.get("access-control-allow-origin"), null);
      },
    );

    await t.step(
      "POST without or with a wrong key: 401; GET is not scoped; the hashed key is served",
      async () => {
        const post = (headers: Record<string, string>) =>
          fetch(`${s.url}/closed`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body: "{}",
          });
        for (
          const h of [{}, { "x-api-key": "pair-key-2" }] as Record<
            string,
            string
          >[]
        ) {
          const res = await post(h);
          await res.body?.cancel();
          assert.equal(res.status, 401);
          assert.ok(res.headers.get("www-authenticate"));
        }
        const ok = await post({
          authorization: "Bearer pair-key-1",
          origin: "https://app.example.com",
        });
        assert.equal(ok.status, 200);
        assert.equal(
          ok.headers.get("access-control-allow-origin"),
          "https://app.example.com",
        );
        assert.match(ok.headers.get("vary") ?? "", /Origin/);
        await ok.body?.cancel();
        const get = await fetch(`${s.url}/closed`);
        assert.equal(get.status, 200);
        await get.body?.cancel();
      },
    );

    await t.step(
      "a chained call is internal: no key needed; the trace goes on",
      async () => {
        const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        const res = await fetch(`${s.url}/open?chain=1`, {
          headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
        });
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.chained, 200);
        assert.deepEqual(body.body.payload, { from: "open" });
        assert.equal(body.body.traceId, traceId);
        assert.match(
          body.body.traceparent,
          new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`),
        );
        assert.ok(!body.body.traceparent.includes("00f067aa0ba902b7"));
        // Both access lines carry the trace id.
        for (const path of ["/open", "/closed"]) {
          await s.waitForLine((l) => l.path === path && l.traceId === traceId);
        }
      },
    );

    await t.step(
      "per-client limit: a burst gets 429 with Retry-After",
      async () => {
        await new Promise((r) => setTimeout(r, 1600)); // refill after the chain step
        const results = await Promise.all(
          Array.from({ length: 10 }, () => fresh(`${s.url}/open`)),
        );
        const ok = results.filter((r) => r.status === 200).length;
        assert.ok(ok >= 3 && ok <= 4, `${ok} admitted`);
        const limited = results.find((r) => r.status === 429)!;
        assert.ok(Number(limited.headers.get("retry-after")) >= 1);
        const m = await scrape(s.url);
        assert.ok(
          m.get("cortex_rejected_requests_total", {
            api: "open",
            reason: "rate_limited",
          }) >= 6,
        );
        assert.ok(
          m.get("cortex_rejected_requests_total", {
            api: "closed",
            reason: "unauthorized",
          }) >= 2,
        );
      },
    );

    await t.step("no key is ever logged", () => assertNoSecretsLogged(s));
  });
});

Deno.test("edge, gRPC: a key in metadata (stock grpc-js client), UNAUTHENTICATED without, RESOURCE_EXHAUSTED over the limit", async (t) => {
  const project = fixture("edge_grpc");
  const registry = await registryOf(project, "e2e.proto");
  await withServer(project, { env: { EDGE_GRPC_KEYS: KEY } }, async (s) => {
    const client = new E2eClient(s.grpcPort, registry, "e2e.v1.E2e");
    const connect = (text: string, headers: Record<string, string>) =>
      fetch(`${s.url}/e2e.v1.E2e/Unary`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ text }),
      });
    try {
      await t.step("no key, a wrong key: UNAUTHENTICATED", async () => {
        for (
          const metadata of [{}, { "x-api-key": "guess" }] as Record<
            string,
            string
          >[]
        ) {
          const err = await rejected(
            client.unary("Unary", { text: "hi" }, { metadata }),
          );
          assert.equal(err.code, grpc.status.UNAUTHENTICATED);
          assert.ok(!err.details.includes("guess"));
        }
      });
      await t.step(
        "x-api-key or authorization: Bearer in metadata",
        async () => {
          const a = await client.unary("Unary", { text: "a" }, {
            metadata: { "x-api-key": KEY },
          });
          assert.equal(a.message.text, "a|key");
          const b = await client.unary("Unary", { text: "b" }, {
            metadata: { authorization: `Bearer ${KEY}` },
          });
          assert.equal(b.message.text, "b|-");
        },
      );
      await t.step(
        "Connect on the HTTP port: 401 without a key, served with one",
        async () => {
          const tries: Record<string, string>[] = [{}, {
            "x-api-key": "guess",
          }];
          for (const headers of tries) {
            const res = await connect("c", headers);
            assert.equal(res.status, 401);
            assert.ok(!(await res.text()).includes("guess"));
          }
          const ok = await connect("c", { "x-api-key": KEY });
          assert.equal(ok.status, 200);
          assert.equal((await ok.json()).text, "c|key");
        },
      );
      await t.step("a burst: RESOURCE_EXHAUSTED", async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 6 }, () =>
            client.unary("Unary", { text: "x" }, {
              metadata: { "x-api-key": KEY },
            })),
        );
        const codes = results.map((r) =>
          r.status === "fulfilled" ? 0 : (r.reason as grpc.ServiceError).code
        );
        assert.ok(
          codes.filter((c) => c === grpc.status.RESOURCE_EXHAUSTED).length >= 4,
          JSON.stringify(codes),
        );
      });
      await t.step("Connect shares the API's rate limit: 429", async () => {
        const statuses = await Promise.all(
          Array.from({ length: 6 }, async () => {
            const res = await connect("x", { "x-api-key": KEY });
            await res.body?.cancel();
            return res.status;
          }),
        );
        assert.ok(
          statuses.filter((c) => c === 429).length >= 3,
          JSON.stringify(statuses),
        );
      });
      await t.step("no key is ever logged", () => assertNoSecretsLogged(s));
    } finally {
      client.close();
    }
  });
});
