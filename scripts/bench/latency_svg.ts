/**
 * The latency chart of the `latency` scenario: p50 and p99 against offered
 * requests per second for the runtime and raw `Deno.serve`, latency on a log
 * scale (it spans from tens of microseconds to seconds once a server is past
 * its maximum).
 *
 * @module
 */

import type { LatencyPoint, LatencyResults } from "./types.ts";

/** Powers of ten from the one at or below `min` to the one at or above `max`. */
export function decades(min: number, max: number): number[] {
  if (!(min > 0) || !(max >= min)) {
    throw new RangeError(
      `Cannot span ${min}..${max} on a log scale: expected 0 < min <= max`,
    );
  }
  const lo = Math.floor(Math.log10(min));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
  const out: number[] = [];
  for (let e = lo; e <= hi; e++) out.push(Number(`1e${e}`));
  return out;
}

/** The smallest of 1, 2 or 5 times a power of ten that is >= `v` (> 0). */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v * (1 - 1e-12)) return m * p;
  return 10 * p;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

function fmtMsLabel(ms: number): string {
  if (ms >= 1000) return `${ms / 1000} s`;
  if (ms >= 1) return `${ms} ms`;
  return `${Math.round(ms * 1000)} µs`;
}

const SERIES = [
  { server: "runtime", stat: "p99Ms", color: "#dc2626", dash: "" },
  { server: "runtime", stat: "p50Ms", color: "#dc2626", dash: "6 4" },
  { server: "raw", stat: "p99Ms", color: "#2563eb", dash: "" },
  { server: "raw", stat: "p50Ms", color: "#2563eb", dash: "6 4" },
] as const;

const NAMES = {
  runtime: "runtime (deno task serve, 1 replica, access log on)",
  raw: "raw Deno.serve",
};

/** Renders the chart; `subtitle` names the machine and settings. */
export function renderLatencyChart(
  r: LatencyResults,
  subtitle: string,
): string {
  const width = 960;
  const height = 500;
  const left = 70;
  const right = 30;
  const top = 70;
  const bottom = 110;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const points = [...r.runtime, ...r.raw];
  const values = points.flatMap((p) => [p.p50Ms, p.p99Ms]).filter((v) =>
    v > 0 && Number.isFinite(v)
  );
  const ticks = values.length
    ? decades(Math.min(...values), Math.max(...values))
    : [0.01, 0.1, 1];
  const yMin = Math.log10(ticks[0]!);
  const yMax = Math.log10(ticks[ticks.length - 1]!);
  const xMax = niceCeil(
    Math.max(1, r.rawMax.rps, ...points.map((p) => p.offeredRps)),
  );
  const x = (rps: number) => left + (rps / xMax) * plotW;
  const y = (ms: number) =>
    top + plotH -
    ((Math.log10(Math.max(ms, ticks[0]!)) - yMin) / (yMax - yMin)) * plotH;
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="24" font-size="16" font-weight="600">Cortex for Deno: latency vs offered load (open loop, JSON echo)</text>`,
    `<text x="${left}" y="44" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  for (const t of ticks) {
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${f(y(t))}" y2="${
        f(y(t))
      }" stroke="#eee"/>`,
      `<text x="${left - 8}" y="${f(y(t) + 4)}" text-anchor="end" fill="#555">${
        fmtMsLabel(t)
      }</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const v = (xMax / 5) * i;
    parts.push(
      `<line x1="${f(x(v))}" x2="${f(x(v))}" y1="${top}" y2="${
        top + plotH
      }" stroke="#eee"/>`,
      `<text x="${f(x(v))}" y="${
        top + plotH + 18
      }" text-anchor="middle" fill="#555">${
        Math.round(v).toLocaleString("en-US")
      }</text>`,
    );
  }
  for (
    const [label, rps, color, dy] of [
      ["raw closed-loop max", r.rawMax.rps, "#2563eb", 12],
      ["runtime closed-loop max", r.runtimeMax.rps, "#dc2626", 28],
    ] as const
  ) {
    // One label line each, so that close maxima do not overlap.
    parts.push(
      `<line x1="${f(x(rps))}" x2="${f(x(rps))}" y1="${top}" y2="${
        top + plotH
      }" stroke="${color}" stroke-dasharray="2 3" opacity="0.6"/>`,
      `<text x="${f(x(rps) - 4)}" y="${
        top + dy
      }" text-anchor="end" fill="${color}">${label} ${
        Math.round(rps).toLocaleString("en-US")
      } req/s</text>`,
    );
  }
  for (const s of SERIES) {
    const series: LatencyPoint[] = r[s.server];
    const xy = series.filter((p) => Number.isFinite(p[s.stat])).map((p) =>
      [x(p.offeredRps), y(p[s.stat]), p] as const
    );
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"${
        s.dash ? ` stroke-dasharray="${s.dash}"` : ""
      } points="${xy.map(([px, py]) => `${f(px)},${f(py)}`).join(" ")}"/>`,
    );
    for (const [px, py, p] of xy) {
      // Hollow: some requests were still unanswered, the value is a lower bound.
      const lower = p.unfinished > 0;
      parts.push(
        `<circle cx="${f(px)}" cy="${f(py)}" r="3.5" fill="${
          lower ? "#fff" : s.color
        }" stroke="${s.color}"><title>${
          escapeXml(
            `${NAMES[s.server]}, ${s.stat === "p99Ms" ? "p99" : "p50"} at ${
              Math.round(p.offeredRps)
            } req/s offered (${Math.round(p.achievedRps)} achieved): ${
              p[s.stat].toFixed(3)
            } ms${lower ? `, ${p.unfinished} unanswered: at least` : ""}`,
          )
        }</title></circle>`,
      );
    }
  }
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${
      top + plotH
    }" stroke="#333"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${
      top + plotH
    }" stroke="#333"/>`,
    `<text x="${left + plotW / 2}" y="${
      top + plotH + 40
    }" text-anchor="middle">offered requests/s (fixed rate, ${r.connections} connections)</text>`,
  );
  let lx = left;
  for (const s of SERIES) {
    const label = `${s.server === "raw" ? "raw Deno.serve" : "runtime"} ${
      s.stat === "p99Ms" ? "p99" : "p50"
    }`;
    const ly = height - 40;
    parts.push(
      `<line x1="${lx}" x2="${
        lx + 28
      }" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${
        s.dash ? ` stroke-dasharray="${s.dash}"` : ""
      }/>`,
      `<text x="${lx + 34}" y="${ly + 4}">${label}</text>`,
    );
    lx += 190;
  }
  parts.push(
    `<text x="${left}" y="${
      height - 14
    }" fill="#555">Latency from each request's intended send time to its answer (log scale). Hollow: requests still unanswered at the end, a lower bound.</text>`,
    `</svg>`,
  );
  return parts.join("\n") + "\n";
}
