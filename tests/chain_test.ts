/**
 * End-to-end: chaining between APIs of one server, and managing a running
 * server through the control API (deploy while in flight, patch, delete).
 */

import assert from "node:assert/strict";
import { CortexClient } from "../mod.ts";
import { example, fixture, type RunningServer, withServer } from "./_server.ts";
import { E2eClient, registryOf } from "./fixtures/grpc_support/client.ts";
import { pollUntil, scrape } from "./_metrics.ts";

const TOKEN = "test-token-0123456789abcdef";

function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

function controlUrl(s: RunningServer): string {
  const line = s.lines().find((l) => typeof l.controlPort === "number");
  assert.ok(line, "the ready line names the control port");
  return `http://127.0.0.1:${line.controlPort}`;
}

async function metric(
  s: RunningServer,
  name: string,
  api: string,
): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const match = new RegExp(`^${name}\\{api="${api}"\\} (\\S+)$`, "m").exec(
    text,
  );
  return match ? Number(match[1]) : NaN;
}

Deno.test("examples/chain: front reaches back at http://api-back:8888 with the caller's request id", async () => {
  await withServer(example("chain"), {}, async (s) => {
    const res = await post(`${s.url}/front`, { text: "hi" }, {
      "x-request-id": "trace-42",
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-request-id"), "trace-42");
    const body = await res.json();
    assert.equal(body.status, 200);
    assert.deepEqual(body.back, { upper: "HI", requestId: "trace-42" });
  });
});

Deno.test("chaining: an unknown API fails like a DNS failure naming the API", async () => {
  await withServer(fixture("chain_slow"), {}, async (s) => {
    const body = await (await post(`${s.url}/front`, { target: "nope" }))
      .json();
    assert.match(body.error, /dns error/);
    assert.match(body.error, /api-nope/);
  });
});

Deno.test("chaining: a slow chained call is in flight in both APIs", async () => {
  await withServer(fixture("chain_slow"), {}, async (s) => {
    const slow = post(`${s.url}/front`, { delayMs: 1500 });
    let both = false;
    const until = Date.now() + 1400;
    while (!both && Date.now() < until) {
      const [front, back] = await Promise.all([
        metric(s, "cortex_in_flight_requests", "front"),
        metric(s, "cortex_in_flight_requests", "back"),
      ]);
      both = front >= 1 && back >= 1;
    }
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal((await res.json()).back.path, "/work");
    assert.ok(both, "in-flight was seen in front and back at the same time");
  });
});

Deno.test("control: a patch rolls out while requests are in flight and none fail", async () => {
  await withServer(fixture("chain_slow"), {
    env: { CORTEX_CONTROL_TOKEN: TOKEN },
  }, async (s) => {
    const client = new CortexClient({ url: controlUrl(s), token: TOKEN });
    const inFlight = Array.from(
      { length: 20 },
      () => post(`${s.url}/front`, { delayMs: 800 }),
    );
    // The patch starts once every request is in flight (not after a guess).
    await pollUntil(
      "20 requests in flight in front",
      5_000,
      async () =>
        (await scrape(s.url)).get("cortex_in_flight_requests", {
          api: "front",
        }) === 20,
      20,
    );
    await client.patch("back", { handler: { config: { version: 2 } } });
    const results = await Promise.all(inFlight.map(async (p) => {
      const res = await p;
      return { status: res.status, body: await res.json() };
    }));
    assert.deepEqual(results.map((r) => r.status), new Array(20).fill(200));
    assert.ok(
      results.every((r) => r.body.status === 200),
      "every chained call succeeded",
    );
    // Once rolled out, new requests see the new version.
    const until = Date.now() + 10_000;
    let version = 1;
    while (version !== 2 && Date.now() < until) {
      version = (await (await post(`${s.url}/back`, {})).json()).version;
    }
    assert.equal(version, 2);
    const api = await client.get("back") as { status: string };
    assert.equal(api.status, "live");
  });
});

Deno.test("control: delete removes an API; chaining to it then fails", async () => {
  await withServer(fixture("chain_slow"), {
    env: { CORTEX_CONTROL_TOKEN: TOKEN },
  }, async (s) => {
    const client = new CortexClient({ url: controlUrl(s), token: TOKEN });
    await client.delete("back");
    const gone = await post(`${s.url}/back`, {});
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
    const body = await (await post(`${s.url}/front`, {})).json();
    assert.match(body.error, /api-back/);
    const names = (await client.list() as Array<{ name: string }>).map((a) =>
      a.name
    );
    assert.deepEqual(names, ["front"]);
  });
});

Deno.test("control: calls without the token are refused and it is not on the API port", async () => {
  await withServer(fixture("chain_slow"), {
    env: { CORTEX_CONTROL_TOKEN: TOKEN },
  }, async (s) => {
    const bare = await fetch(`${controlUrl(s)}/apis`);
    assert.equal(bare.status, 401);
    await bare.body?.cancel();
    const wrong = await fetch(`${controlUrl(s)}/apis`, {
      headers: { authorization: "Bearer nope" },
    });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const onApiPort = await fetch(`${s.url}/apis`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(onApiPort.status, 404);
    await onApiPort.body?.cancel();
  });
});

Deno.test("a project with two HTTP APIs and a gRPC API: chaining, gRPC and the control API together", async () => {
  const project = fixture("chain_grpc");
  const registry = await registryOf(project, "echo.proto");
  await withServer(
    project,
    { env: { CORTEX_CONTROL_TOKEN: TOKEN } },
    async (s) => {
      const chained =
        await (await post(`${s.url}/front`, {}, { "x-request-id": "t-1" }))
          .json();
      assert.equal(chained.status, 200);
      assert.equal(chained.back.requestId, "t-1");
      const client = new E2eClient(s.grpcPort, registry, "chain.v1.Upper");
      try {
        const { message } = await client.unary("Unary", { text: "hi" });
        assert.equal(message.text, "HI");
      } finally {
        client.close();
      }
      const control = new CortexClient({ url: controlUrl(s), token: TOKEN });
      const apis = await control.list() as Array<
        { name: string; status: string; endpoint: string }
      >;
      assert.deepEqual(apis.map((a) => a.name).sort(), [
        "back",
        "front",
        "grpc",
      ]);
      assert.ok(apis.every((a) => a.status === "live"), JSON.stringify(apis));
      assert.equal(
        apis.find((a) => a.name === "grpc")!.endpoint,
        `grpc://localhost:${s.grpcPort}`,
      );
    },
  );
});
