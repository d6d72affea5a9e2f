/**
 * An SVG bar chart of runtime/raw throughput ratios, one bar per workload
 * and connection count, with the target lines.
 *
 * @module
 */

import { ratio } from "./stats.ts";
import type { ComparisonRow } from "./types.ts";

const COLORS: Record<string, string> = {
  json: "#3b82f6",
  binary: "#10b981",
  multipart: "#f59e0b",
  grpc: "#8b5cf6",
  "grpc-stream": "#ec4899",
};

const LABELS: Record<string, string> = {
  json: "JSON echo",
  binary: "1 MiB binary",
  multipart: "Multipart",
  grpc: "gRPC unary",
  "grpc-stream": "gRPC stream msgs",
};

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

/** Groups rows by workload and pinning, keeping their order. */
function groups(
  rows: ComparisonRow[],
): Array<{ label: string; workload: string; rows: ComparisonRow[] }> {
  const out = new Map<
    string,
    { label: string; workload: string; rows: ComparisonRow[] }
  >();
  for (const r of rows) {
    const k = `${r.workload}/${r.pinned}`;
    const label = `${LABELS[r.workload] ?? r.workload}${
      r.pinned ? "" : " (unpinned)"
    }`;
    if (!out.has(k)) out.set(k, { label, workload: r.workload, rows: [] });
    out.get(k)!.rows.push(r);
  }
  return [...out.values()];
}

/** Renders the chart; `subtitle` names the machine and settings. */
export function renderChart(rows: ComparisonRow[], subtitle: string): string {
  const width = 960;
  const height = 440;
  const left = 60;
  const right = 20;
  const top = 60;
  const bottom = 90;
  const plotH = height - top - bottom;
  const plotW = width - left - right;
  const gs = groups(rows);
  const maxRatio =
    Math.max(1.2, ...rows.map((r) => ratio(r.runtime.rps, r.raw.rps) || 0)) *
    1.1;
  const y = (v: number) => top + plotH - (v / maxRatio) * plotH;
  const bars = rows.length + gs.length; // one empty slot between groups
  const slot = plotW / Math.max(1, bars);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="24" font-size="16" font-weight="600">Cortex for Deno: runtime throughput / raw baseline</text>`,
    `<text x="${left}" y="44" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  for (let v = 0; v <= maxRatio; v += 0.2) {
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${
        y(v)
      }" stroke="#eee"/>`,
      `<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end" fill="#555">${
        v.toFixed(1)
      }x</text>`,
    );
  }
  let at = 0;
  for (const g of gs) {
    const start = at;
    for (const r of g.rows) {
      const value = ratio(r.runtime.rps, r.raw.rps) || 0;
      const x = left + at * slot + slot * 0.1;
      const w = slot * 0.8;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${
          w.toFixed(1)
        }" height="${(y(0) - y(value)).toFixed(1)}" fill="${
          COLORS[r.workload] ?? "#888"
        }" opacity="${r.pinned ? 1 : 0.55}"><title>${
          escapeXml(
            `${g.label}, ${r.connections} connections: ${
              Math.round(r.runtime.rps)
            } vs ${Math.round(r.raw.rps)} req/s`,
          )
        }</title></rect>`,
        `<text x="${(x + w / 2).toFixed(1)}" y="${
          (y(value) - 4).toFixed(1)
        }" text-anchor="middle">${value.toFixed(2)}</text>`,
        `<text x="${(x + w / 2).toFixed(1)}" y="${
          y(0) + 16
        }" text-anchor="middle" fill="#555">c=${r.connections}</text>`,
      );
      at++;
    }
    const mid = left + ((start + at) / 2) * slot;
    parts.push(
      `<text x="${mid.toFixed(1)}" y="${
        y(0) + 36
      }" text-anchor="middle" font-weight="600">${escapeXml(g.label)}</text>`,
    );
    at++;
  }
  for (
    const [value, label] of [[0.7, "HTTP target 0.7x"], [
      0.8,
      "gRPC target 0.8x",
    ], [1, "raw"]] as const
  ) {
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(value)}" y2="${
        y(value)
      }" stroke="${value === 1 ? "#333" : "#dc2626"}" stroke-dasharray="6 4"/>`,
      `<text x="${width - right - 4}" y="${
        y(value) - 4
      }" text-anchor="end" fill="${
        value === 1 ? "#333" : "#dc2626"
      }">${label}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${y(0)}" y2="${
      y(0)
    }" stroke="#333"/>`,
    `<text x="${left}" y="${
      height - 14
    }" fill="#555">Bars: requests/s of the runtime divided by the raw server's at the same connection count (c). Faded: server not pinned to one core.</text>`,
    `</svg>`,
  );
  return parts.join("\n") + "\n";
}
