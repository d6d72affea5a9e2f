/**
 * `/metrics` lines of the HTTP listeners (src/http/guarded_server.ts): open
 * connections, connections refused at `--max-connections`, connections closed
 * by a timeout (by kind), failed accepts, and the limits in force. Summed
 * over the serving process's listener and its replicas' listeners.
 *
 * @module
 */

import type {
  ConnectionLimits,
  ConnectionStats,
} from "../http/guarded_server.ts";

/** One listener's counters, and whether it is still running. */
export interface ListenerCounters {
  stats: ConnectionStats;
  /** False for a listener that has ended: its counters still count, its open connections do not. */
  live: boolean;
}

/** Renders the connection metrics in Prometheus text format 0.0.4. */
export function renderConnectionMetrics(
  limits: ConnectionLimits,
  listeners: ListenerCounters[],
): string {
  let open = 0;
  let refused = 0;
  let acceptErrors = 0;
  const timedOut = { header: 0, idle: 0, body: 0 };
  for (const { stats, live } of listeners) {
    if (live) open += stats.open;
    refused += stats.refused;
    acceptErrors += stats.acceptErrors;
    timedOut.header += stats.timedOut.header;
    timedOut.idle += stats.timedOut.idle;
    timedOut.body += stats.timedOut.body;
  }
  const lines: string[] = [];
  const metric = (
    name: string,
    type: string,
    help: string,
    samples: Array<[string, number]>,
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      lines.push(`${name}${labels} ${value}`);
    }
  };
  metric("cortex_open_connections", "gauge", "Open HTTP client connections", [
    ["", open],
  ]);
  metric(
    "cortex_refused_connections_total",
    "counter",
    "HTTP connections closed at once because --max-connections were open",
    [["", refused]],
  );
  metric(
    "cortex_timed_out_connections_total",
    "counter",
    "HTTP connections ended by a timeout: header (--header-timeout), idle (--idle-timeout), body (handler.request_timeout, answered 408)",
    Object.entries(timedOut).map(([kind, n]) => [`{kind="${kind}"}`, n]),
  );
  metric(
    "cortex_accept_errors_total",
    "counter",
    "Failed accepts of HTTP connections (e.g. too many open files), retried",
    [["", acceptErrors]],
  );
  metric(
    "cortex_max_connections",
    "gauge",
    "Open HTTP connections allowed per listening process (--max-connections)",
    [["", limits.maxConnections]],
  );
  metric(
    "cortex_header_timeout_seconds",
    "gauge",
    "Time a new connection has to send its request headers (--header-timeout)",
    [["", limits.headerTimeoutMs / 1000]],
  );
  metric(
    "cortex_idle_timeout_seconds",
    "gauge",
    "Time a kept-alive connection may wait for its next request (--idle-timeout)",
    [["", limits.idleTimeoutMs / 1000]],
  );
  return lines.join("\n") + "\n";
}
