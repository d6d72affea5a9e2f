/**
 * End-to-end: OpenTelemetry traces. A real server (`cortex serve`) exports to
 * an in-process OTLP/HTTP collector; a request to API "front" that chains to
 * API "back" (examples/chain) must arrive as one trace with correctly nested
 * spans, under the client's `traceparent`. With tracing off nothing connects
 * to the collector; a handler cannot export through Deno's built-in
 * OpenTelemetry from its sandbox.
 */

import assert from "node:assert/strict";
import {
  example,
  fixture,
  messages,
  runToExit,
  withServer,
} from "./_server.ts";
import { E2eClient, registryOf } from "./fixtures/grpc_support/client.ts";
import { attr, type CollectedSpan, startCollector } from "./_otlp_collector.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";

function tracingEnv(endpoint: string): Record<string, string> {
  return {
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  };
}

function post(url: string, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ text: "hi" }),
  });
}

function one(spans: CollectedSpan[], pred: (s: CollectedSpan) => boolean) {
  const found = spans.filter(pred);
  assert.equal(
    found.length,
    1,
    `exactly one span matches, got ${found.length}`,
  );
  return found[0]!;
}

Deno.test("tracing: a request to front that chains to back is one trace of nested spans under the client's traceparent", async () => {
  const collector = startCollector();
  try {
    await withServer(example("chain"), {
      env: tracingEnv(collector.url),
    }, async (s) => {
      const res = await post(`${s.url}/front`, {
        traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`,
      });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).status, 200);
      const inTrace = () =>
        collector.spans.filter((sp) => sp.traceId === TRACE_ID);
      await collector.waitFor(() =>
        inTrace().some((sp) =>
          sp.name === "handler handlePost" &&
          sp.resource["cortex.api"] === "back"
        )
      );
      // Everything of the request has arrived once back's handler span has
      // (it ends first); front's spans may come in a later batch.
      await collector.waitFor(() => inTrace().length >= 7);
      const spans = inTrace();
      const frontServer = one(
        spans,
        (sp) =>
          sp.name === "POST /front" && sp.resource["cortex.api"] === "front",
      );
      const frontHandler = one(
        spans,
        (sp) =>
          sp.name === "handler handlePost" &&
          sp.resource["cortex.api"] === "front",
      );
      const client = one(spans, (sp) => sp.name === "POST api-back");
      const backServer = one(
        spans,
        (sp) => sp.resource["cortex.api"] === "back" && sp.kind === 2,
      );
      const backHandler = one(spans, (sp) =>
        sp.name === "handler handlePost" &&
        sp.resource["cortex.api"] === "back");
      // server span of front > its handler > the chained call > back.
      assert.equal(frontServer.parentSpanId, CLIENT_SPAN);
      assert.equal(frontServer.kind, 2);
      assert.equal(frontHandler.parentSpanId, frontServer.spanId);
      assert.equal(client.kind, 3);
      assert.equal(client.parentSpanId, frontHandler.spanId);
      assert.equal(backServer.parentSpanId, client.spanId);
      assert.equal(backHandler.parentSpanId, backServer.spanId);
      // Queueing is a span of each request, under its server span.
      for (const server of [frontServer, backServer]) {
        one(spans, (sp) =>
          sp.name === "queue" &&
          sp.parentSpanId === server.spanId);
      }
      // Nested in time too, and labelled by the serving process.
      const t = (sp: CollectedSpan, k: "start" | "end") =>
        BigInt(k === "start" ? sp.startTimeUnixNano : sp.endTimeUnixNano);
      assert.ok(t(frontServer, "start") <= t(frontHandler, "start"));
      assert.ok(t(client, "end") <= t(frontHandler, "end"));
      assert.ok(t(frontHandler, "end") <= t(frontServer, "end"));
      assert.equal(attr(frontServer, "http.response.status_code"), "200");
      assert.match(String(attr(backHandler, "cortex.replica")), /^back-\d+$/);
      assert.equal(frontServer.resource["service.name"], "front");
      // The handler's log line names the span it was written under.
      const logged = await s.waitForLine((l) => l.message === "Called back");
      assert.equal(logged.trace_id, TRACE_ID);
      assert.equal(logged.span_id, frontHandler.spanId);
      // The access line names the request's server span.
      const access = await s.waitForLine((l) =>
        l.path === "/front" && l.trace_id === TRACE_ID
      );
      assert.equal(access.span_id, frontServer.spanId);
      // A trace the caller does not sample (flags 00) is not recorded, and
      // the chained call passes that on.
      const unsampled = "0af7651916cd43dd8448eb211c80319c";
      const quiet = await post(`${s.url}/front`, {
        traceparent: `00-${unsampled}-${CLIENT_SPAN}-00`,
      });
      assert.equal((await quiet.json()).status, 200);
      // A request without a traceparent starts a trace of its own.
      assert.equal((await post(`${s.url}/front`)).status, 200);
      await collector.waitFor(() =>
        collector.spans.some((sp) =>
          sp.name === "POST /front" && sp.traceId !== TRACE_ID &&
          sp.parentSpanId === undefined
        )
      );
      // Sent after the unsampled one, whose spans would have come with it.
      assert.ok(collector.spans.every((sp) => sp.traceId !== unsampled));
    });
  } finally {
    await collector.close();
  }
});

Deno.test("tracing off: no connection reaches the collector", async () => {
  const collector = startCollector();
  try {
    const env = tracingEnv(collector.url);
    delete (env as Record<string, string | undefined>).OTEL_DENO;
    await withServer(example("chain"), { env }, async (s) => {
      for (let i = 0; i < 5; i++) {
        const res = await post(`${s.url}/front`, {
          traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`,
        });
        assert.equal(res.status, 200);
        await res.body?.cancel();
      }
      // Longer than a replica's (200 ms) and the exporter's (1 s) batching.
      await new Promise((r) => setTimeout(r, 1500));
    });
    assert.equal(collector.connections(), 0);
  } finally {
    await collector.close();
  }
});

Deno.test("tracing: a handler cannot export through Deno's built-in OpenTelemetry, which ignores permissions", async () => {
  const collector = startCollector();
  try {
    await withServer(fixture("trace_hostile"), {
      env: { ...tracingEnv(collector.url), OTEL_SERVICE_NAME: "leaky" },
    }, async (s) => {
      const res = await fetch(`${s.url}/leak`);
      assert.equal(res.status, 200);
      const { exported } = await res.json();
      assert.notEqual(exported, "recording");
      // The runtime's own spans of that request do arrive.
      await collector.waitFor((spans) =>
        spans.some((sp) => sp.name === "GET /leak")
      );
      await new Promise((r) => setTimeout(r, 1500));
    });
    assert.deepEqual(
      collector.spans.filter((sp) => sp.name === "exfiltrated"),
      [],
    );
    // Nothing the handler did (its span, its console line) left the replica;
    // what else arrives is the supervisor's own Deno telemetry (OTEL_DENO is
    // in its environment).
    assert.ok(collector.bodies.every((b) => !b.includes("exfiltrated")));
    assert.ok(
      collector.spans.every((sp) => sp.resource["service.name"] === "leaky"),
    );
  } finally {
    await collector.close();
  }
});

Deno.test("tracing: a gRPC call gets a server span under its traceparent metadata and a handler span", async () => {
  const collector = startCollector();
  const project = fixture("grpc_e2e");
  try {
    const registry = await registryOf(project, "e2e.proto");
    await withServer(project, {
      env: tracingEnv(collector.url),
    }, async ({ grpcPort }) => {
      const client = new E2eClient(grpcPort, registry, "e2e.v1.E2e");
      try {
        const { message } = await client.unary("Unary", { text: "hi" }, {
          metadata: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` },
        });
        assert.equal(message.text, "HI");
      } finally {
        client.close();
      }
      await collector.waitFor((spans) =>
        spans.some((sp) => sp.name === "handler Unary") &&
        spans.some((sp) => sp.name === "e2e.v1.E2e/Unary")
      );
      const server = one(
        collector.spans,
        (sp) => sp.name === "e2e.v1.E2e/Unary",
      );
      assert.equal(server.traceId, TRACE_ID);
      assert.equal(server.parentSpanId, CLIENT_SPAN);
      assert.equal(server.kind, 2);
      assert.equal(attr(server, "rpc.grpc.status_code"), "0");
      const handler = one(collector.spans, (sp) => sp.name === "handler Unary");
      assert.equal(handler.parentSpanId, server.spanId);
    });
  } finally {
    await collector.close();
  }
});

Deno.test("tracing: a batch's span links to its requests; model loads are spans", async () => {
  const collector = startCollector();
  try {
    await withServer(fixture("batching"), {
      args: ["--api", "batch"],
      env: tracingEnv(collector.url),
    }, async (s) => {
      const answers = await Promise.all(
        [1, 2, 3, 4].map((i) =>
          fetch(`${s.url}/batch`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ id: String(i) }),
          }).then((r) => r.json())
        ),
      );
      assert.ok(answers.every((a) => a.size >= 1));
      await collector.waitFor((spans) =>
        spans.filter((sp) => sp.name === "POST /batch").length === 4 &&
        spans.some((sp) => sp.name === "batch handlePost")
      );
      const servers = new Set(
        collector.spans.filter((sp) => sp.name === "POST /batch")
          .map((sp) => sp.spanId),
      );
      const batches = collector.spans.filter((sp) =>
        sp.name === "batch handlePost"
      );
      const linked = batches.flatMap((b) => b.links ?? []);
      assert.equal(linked.length, 4);
      assert.ok(linked.every((l) => servers.has(l.spanId)));
      assert.equal(
        batches.reduce((n, b) => n + Number(attr(b, "cortex.batch.size")), 0),
        4,
      );
    });
    await withServer(fixture("models"), {
      args: ["--api", "one"],
      env: tracingEnv(collector.url),
    }, async () => {
      await collector.waitFor((spans) =>
        spans.some((sp) =>
          sp.name.startsWith("model load ") &&
          sp.resource["cortex.api"] === "one"
        )
      );
    });
  } finally {
    await collector.close();
  }
});

Deno.test("tracing: an OTLP setting the runtime cannot use stops serve, naming the variable", async () => {
  const { code, lines } = await runToExit(example("chain"), {
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4317",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    },
    timeoutMs: 30_000,
  });
  assert.equal(code, 2);
  assert.ok(
    messages(lines).some((m) =>
      m.startsWith('OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported')
    ),
    messages(lines).join("\n"),
  );
});

Deno.test("tracing: requests refused at the edge get a server span, on a replica's listener and in the router", async () => {
  const collector = startCollector();
  try {
    // edge_single: the replicas listen; edge_pair: the serving process routes.
    for (
      const [project, path, env] of [
        ["edge_single", "/echo", { EDGE_KEYS: "k-1" }],
        ["edge_pair", "/closed", {}],
      ] as const
    ) {
      await withServer(fixture(project), {
        env: { ...tracingEnv(collector.url), ...env },
      }, async (s) => {
        const res = await post(`${s.url}${path}`, {
          traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`,
        });
        assert.equal(res.status, 401);
        await res.body?.cancel();
        await collector.waitFor((spans) =>
          spans.some((sp) => sp.name === `POST ${path}`)
        );
        const span = one(collector.spans, (sp) => sp.name === `POST ${path}`);
        assert.equal(span.traceId, TRACE_ID);
        assert.equal(span.parentSpanId, CLIENT_SPAN);
        assert.equal(attr(span, "http.response.status_code"), "401");
        assert.equal(attr(span, "cortex.refused"), true);
      });
    }
  } finally {
    await collector.close();
  }
});
