import assert from "node:assert/strict";
import { decades, niceCeil, renderLatencyChart } from "./latency_svg.ts";
import type { LatencyPoint, LatencyResults } from "./types.ts";

function point(
  fraction: number,
  p50Ms: number,
  p99Ms: number,
  unfinished = 0,
): LatencyPoint {
  return {
    fraction,
    requests: 1000,
    offeredRps: fraction * 100_000,
    achievedRps: fraction * 100_000,
    p50Ms,
    p99Ms,
    maxMs: p99Ms * 2,
    errors: 0,
    unfinished,
    generatorLagP50Ms: 0.002,
    generatorLagP99Ms: 0.02,
    generatorCpu: 0.3,
    serverCpu: 0.5,
  };
}

const RESULTS: LatencyResults = {
  connections: 64,
  runS: 1.5,
  warmupS: 0.5,
  pinned: true,
  rawMax: {
    rps: 100_000,
    p50Ms: 0.5,
    p99Ms: 2,
    generatorCpu: 0.5,
    serverCpu: 1,
  },
  runtimeMax: {
    rps: 40_000,
    p50Ms: 1.5,
    p99Ms: 9,
    generatorCpu: 0.2,
    serverCpu: 1,
  },
  runtime: [point(0.1, 0.08, 0.4), point(0.5, 900, 1200, 3000)],
  raw: [point(0.1, 0.05, 0.2), point(0.5, 0.06, 0.3)],
};

/** The y of each point of the polyline with `stroke` and `dash`. */
function polyline(svg: string, stroke: string, dashed: boolean): number[][] {
  const lines = [...svg.matchAll(/<polyline ([^>]*)\/>/g)].map((m) => m[1]!);
  const line = lines.find((l) =>
    l.includes(`stroke="${stroke}"`) && l.includes("dasharray") === dashed
  );
  assert.ok(line, `no polyline ${stroke} dashed=${dashed}`);
  return /points="([^"]*)"/.exec(line)![1]!.split(" ").map((xy) =>
    xy.split(",").map(Number)
  );
}

Deno.test("decades() spans min..max with powers of ten", () => {
  assert.deepEqual(decades(0.05, 1200), [0.01, 0.1, 1, 10, 100, 1000, 10000]);
  assert.deepEqual(decades(0.1, 1), [0.1, 1]);
  assert.deepEqual(decades(2, 2), [1, 10]);
  assert.throws(() => decades(0, 1), /expected 0 < min <= max/);
});

Deno.test("niceCeil() rounds up to 1, 2 or 5 times a power of ten", () => {
  assert.equal(niceCeil(97_000), 100_000);
  assert.equal(niceCeil(140_000), 200_000);
  assert.equal(niceCeil(300), 500);
  assert.equal(niceCeil(1000), 1000);
});

Deno.test("renderLatencyChart() draws p50 and p99 of both servers on a log scale", () => {
  const svg = renderLatencyChart(RESULTS, "test machine");
  assert.match(svg, /^<svg [^>]*viewBox="0 0 960 500"/);
  assert.match(svg, /test machine/);
  const rtP99 = polyline(svg, "#dc2626", false);
  const rtP50 = polyline(svg, "#dc2626", true);
  const rawP99 = polyline(svg, "#2563eb", false);
  const rawP50 = polyline(svg, "#2563eb", true);
  for (const line of [rtP99, rtP50, rawP99, rawP50]) {
    assert.equal(line.length, 2);
    // Offered 10% then 50%: x grows.
    assert.ok(line[1]![0]! > line[0]![0]!);
  }
  // Higher latency is higher up (smaller y); a decade is the same height
  // wherever it is: 0.4 -> 1200 ms is log10(3000) decades, 0.05 -> 0.2 ms is
  // log10(4).
  assert.ok(rtP99[1]![1]! < rtP99[0]![1]!);
  const perDecade = (rtP99[0]![1]! - rtP99[1]![1]!) / Math.log10(3000);
  const rawDrop = rawP50[0]![1]! - rawP99[0]![1]!;
  assert.ok(Math.abs(rawDrop / perDecade - Math.log10(4)) < 0.01);
  // Ticks from 10 us to 10 s.
  assert.match(svg, />10 µs</);
  assert.match(svg, />10 s</);
});

Deno.test("renderLatencyChart() marks lower bounds hollow and names both maxima", () => {
  const svg = renderLatencyChart(RESULTS, "<x & y>");
  const hollow = [
    ...svg.matchAll(/<circle [^>]*fill="#fff"[^>]*><title>([^<]*)</g),
  ]
    .map((m) => m[1]!);
  assert.equal(hollow.length, 2);
  assert.ok(hollow.every((t) => t.includes("3000 unanswered: at least")));
  assert.match(svg, /raw closed-loop max 100,000 req\/s/);
  assert.match(svg, /runtime closed-loop max 40,000 req\/s/);
  assert.match(svg, /&lt;x &amp; y&gt;/);
});
