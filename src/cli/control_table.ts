/**
 * Renders APIs for the terminal the way kubectl and the Cortex CLI do:
 * an aligned table with coloured status, and a detail view.
 *
 * @module
 */

import type { ApiDescription, ApiStatus } from "../control/client.ts";
import { GATED_ACTIONS } from "../control/policy.ts";

const RESET = "\x1b[0m";
const STATUS_COLORS: Readonly<Record<ApiStatus, string>> = {
  live: "\x1b[32m",
  updating: "\x1b[33m",
  error: "\x1b[31m",
};

/** The table's columns. */
export const COLUMNS = [
  "NAME",
  "KIND",
  "STATUS",
  "REPLICAS",
  "IN-FLIGHT",
  "ENDPOINT",
  "CONTROL",
] as const;

/**
 * What the API's handler may do through `ctx.client` (`handler.control`):
 * "read" when nothing is granted, else e.g. "read; logs: *; patch: iris,w".
 */
export function controlCell(api: ApiDescription): string {
  const handler = api.spec.handler as Record<string, unknown> | undefined;
  const grants = (handler?.control ?? {}) as Record<string, unknown>;
  const parts = ["read"];
  for (const action of GATED_ACTIONS) {
    const list = grants[action];
    if (Array.isArray(list) && list.length > 0) {
      parts.push(`${action}: ${list.join(",")}`);
    }
  }
  return parts.join("; ");
}

/** Colours `status` (green, yellow, red) when `color` is on. */
export function paintStatus(status: ApiStatus, color: boolean): string {
  const code = STATUS_COLORS[status];
  return color && code ? `${code}${status}${RESET}` : status;
}

/**
 * Renders an aligned table, columns separated by three spaces.
 *
 * @param apis The APIs, one row each.
 * @param opts Whether to colour the status.
 * @returns The lines, header first, without trailing newline.
 */
export function renderApiTable(
  apis: ApiDescription[],
  opts: { color: boolean },
): string {
  if (apis.length === 0) return "No APIs are deployed";
  const rows = apis.map((a) => [
    a.name,
    a.kind,
    a.status,
    `${a.replicas.ready}/${a.replicas.desired}`,
    String(a.inFlight),
    a.endpoint,
    controlCell(a),
  ]);
  const widths = COLUMNS.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i]!.length))
  );
  const line = (cells: string[], statusOf?: ApiStatus) =>
    cells.map((cell, i) => {
      const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
      if (i !== 2 || statusOf === undefined) return padded;
      return paintStatus(statusOf, opts.color) + padded.slice(cell.length);
    }).join("   ");
  return [line([...COLUMNS]), ...rows.map((r, i) => line(r, apis[i]!.status))]
    .join("\n");
}

/**
 * Renders one API: the table row, then the details `cortex get <name>` adds.
 *
 * @returns The text without trailing newline.
 */
export function renderApiDetail(
  api: ApiDescription,
  opts: { color: boolean },
): string {
  const auto = (api.spec.autoscaling ?? {}) as Record<string, unknown>;
  const lines = [
    renderApiTable([api], opts),
    "",
    `queued:             ${api.queued}`,
    `restarts:           ${api.restarts}`,
    `replica cap:        ${api.replicas.cap} (local)`,
    `ctx.client may:     ${controlCell(api)} (handler.control)`,
    `autoscaling:        min ${auto.min_replicas ?? "?"}, max ${
      auto.max_replicas ?? "?"
    }, ` +
    `max concurrency ${auto.max_replica_concurrency ?? "?"}`,
  ];
  if (api.error !== null) {
    lines.push(
      `${
        opts.color ? STATUS_COLORS.error + "error:" + RESET : "error:"
      }              ${api.error}`,
    );
  }
  if (api.endpoint.startsWith("http")) {
    lines.push(
      "",
      "example curl:",
      `  curl ${api.endpoint} -X POST -H "Content-Type: application/json" -d @sample.json`,
    );
  }
  return lines.join("\n");
}
