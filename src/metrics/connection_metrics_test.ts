import assert from "node:assert/strict";
import { renderConnectionMetrics } from "./connection_metrics.ts";

const stats = (open: number, n: number) => ({
  open,
  refused: n,
  acceptErrors: n,
  timedOut: { header: n, idle: 2 * n, body: 3 * n },
});

Deno.test("renderConnectionMetrics() sums listeners; ended ones keep their counters, not their open connections", () => {
  const text = renderConnectionMetrics(
    { maxConnections: 100, headerTimeoutMs: 5_000, idleTimeoutMs: 1_500 },
    [
      { stats: stats(3, 1), live: true },
      { stats: stats(7, 2), live: false },
    ],
  );
  const samples = text.split("\n").filter((l) => l && !l.startsWith("#"));
  assert.deepEqual(samples, [
    "cortex_open_connections 3",
    "cortex_refused_connections_total 3",
    'cortex_timed_out_connections_total{kind="header"} 3',
    'cortex_timed_out_connections_total{kind="idle"} 6',
    'cortex_timed_out_connections_total{kind="body"} 9',
    "cortex_accept_errors_total 3",
    "cortex_max_connections 100",
    "cortex_header_timeout_seconds 5",
    "cortex_idle_timeout_seconds 1.5",
  ]);
  assert.match(text, /^# TYPE cortex_open_connections gauge$/m);
  assert.match(text, /^# TYPE cortex_refused_connections_total counter$/m);
  assert.ok(text.endsWith("\n"));
});
