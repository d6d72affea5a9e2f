import assert from "node:assert/strict";
import { accessLineFormatter } from "./access_line.ts";
import { formatRecord } from "./format.ts";

const entry = {
  method: "POST",
  path: '/a"b',
  status: 201,
  latencyMs: 1.25,
  requestId: "req-1",
  bytesIn: 10,
  bytesOut: 20,
};

Deno.test("accessLineFormatter() writes the same object as the general formatter", () => {
  const labels = {
    apiName: "iris",
    apiKind: "RealtimeAPI",
    replicaId: "iris-1",
  };
  const fast = JSON.parse(accessLineFormatter(labels, 42)(entry));
  const [general] = formatRecord({
    level: "info",
    message: `POST /a"b 201 1.3ms`,
    labels: { ...labels, requestId: "req-1" },
    extra: entry,
  }, { now: new Date(fast.asctime), pid: 42 });
  assert.deepEqual(fast, JSON.parse(general!));
});

Deno.test("accessLineFormatter() works without labels", () => {
  const line = JSON.parse(accessLineFormatter({}, 1)(entry));
  assert.deepEqual(line.labels, { requestId: "req-1" });
  assert.equal(line.status, 201);
});

Deno.test("accessLineFormatter() escapes paths with quotes, backslashes and non-ASCII", () => {
  const f = accessLineFormatter({}, 1);
  for (const path of ['/a"b', "/a\\b", "/é", "/tab\there"]) {
    const line = JSON.parse(f({ ...entry, path }));
    assert.equal(line.path, path);
    assert.ok(line.message.includes(path));
  }
});

Deno.test("accessLineFormatter() writes the request's trace: traceId, and trace_id/span_id when traced", () => {
  const f = accessLineFormatter({}, 1);
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const kept = JSON.parse(f({ ...entry, traceId }));
  assert.equal(kept.traceId, traceId);
  assert.equal(kept.trace_id, undefined);
  const traced = JSON.parse(
    f({ ...entry, traceId, spanId: "00f067aa0ba902b7" }),
  );
  assert.equal(traced.trace_id, traceId);
  assert.equal(traced.span_id, "00f067aa0ba902b7");
});

Deno.test("accessLineFormatter() writes latencies exactly as JSON and toFixed(1) do", () => {
  const f = accessLineFormatter({}, 1);
  const latencies = [0, 0.05, 0.15, 0.25, 0.75, 0.95, 0.99, 9.95, 1e6 + 0.45];
  for (let h = 0; h <= 20_000; h += 7) latencies.push(h / 100);
  for (let k = 0; k < 2_000; k++) {
    latencies.push(Math.round(Math.random() * 1e8) / 100, Math.random() * 50);
  }
  for (const latencyMs of latencies) {
    const line = f({ ...entry, path: "/p", latencyMs });
    assert.ok(
      line.includes(`"latencyMs":${JSON.stringify(latencyMs)},`),
      `${latencyMs}: ${line}`,
    );
    assert.equal(
      JSON.parse(line).message,
      `POST /p 201 ${latencyMs.toFixed(1)}ms`,
      String(latencyMs),
    );
  }
});
