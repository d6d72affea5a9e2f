/**
 * Go-style durations ("1m30s", "500ms", "1h") and plain integers meaning
 * seconds, as cortex.yaml writes them.
 *
 * @module
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a duration into milliseconds. A number, or a string of digits, is
 * seconds. Returns null when the value is not a non-negative duration.
 *
 * @example
 * ```ts
 * parseDuration("1m30s"); // 90000
 * parseDuration(5); // 5000
 * ```
 */
export function parseDuration(value: string | number): number | null {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 ? value * 1000 : null;
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (text === "0") return 0;
  if (text === "") return null;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (match === null) return null;
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? NaN);
  }
  return Number.isFinite(total) ? total : null;
}

/** Formats milliseconds the short Go way: 90000 → "1m30s", 100 → "100ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  if (rest >= 1000 || (out !== "" && rest > 0)) {
    const seconds = rest / 1000;
    return `${out}${seconds}s`;
  }
  return rest > 0 ? `${out}${rest}ms` : out;
}
