/**
 * Console-style argument formatting for captured `console` calls.
 *
 * @module
 */

const INSPECT: Deno.InspectOptions = { colors: false, depth: 4 };

/**
 * Formats console arguments like Deno's console: a leading string may hold
 * `%s %d %i %f %o %O %j %c %%`; the remaining strings are written as is and
 * other values via `Deno.inspect`, all separated by spaces.
 *
 * @param args The arguments of one console call.
 * @returns The message text.
 */
export function formatArgs(args: readonly unknown[]): string {
  const first = args[0];
  let rest = args.slice(1);
  const parts: string[] = [];
  if (typeof first === "string") {
    let i = 0;
    parts.push(first.replace(/%([sdifoOjc%])/g, (match, spec: string) => {
      if (spec === "%") return "%";
      if (i >= rest.length) return match;
      return substitute(spec, rest[i++]);
    }));
    rest = rest.slice(i);
  } else if (args.length > 0) {
    parts.push(inspect(first));
  }
  for (const arg of rest) parts.push(inspect(arg));
  return parts.join(" ");
}

function substitute(spec: string, arg: unknown): string {
  switch (spec) {
    case "s":
      return typeof arg === "string" ? arg : inspect(arg);
    case "d":
    case "i": {
      if (typeof arg === "bigint") return `${arg}n`;
      const n = Number(arg);
      return String(
        spec === "i" || typeof arg === "symbol" ? Math.trunc(n) : n,
      );
    }
    case "f":
      return String(typeof arg === "symbol" ? NaN : Number(arg));
    case "j":
      try {
        return JSON.stringify(arg) ?? "undefined";
      } catch {
        return "[Circular]";
      }
    case "c":
      return "";
    default:
      return Deno.inspect(arg, { ...INSPECT, depth: spec === "O" ? 4 : 2 });
  }
}

function inspect(arg: unknown): string {
  return typeof arg === "string" ? arg : Deno.inspect(arg, INSPECT);
}

/**
 * A plain-text table for `console.table`: one row per entry, a column per
 * key (or per `properties`), and a "Values" column for primitive entries.
 *
 * @param data An array or object; anything else is inspected.
 * @param properties The columns to show.
 * @returns The table text.
 */
export function renderTable(data: unknown, properties?: string[]): string {
  if (typeof data !== "object" || data === null) return inspect(data);
  const rows = data instanceof Map ? [...data] : Object.entries(data);
  const columns: string[] = properties ? [...properties] : [];
  let hasValues = false;
  for (const [, value] of rows) {
    if (typeof value === "object" && value !== null) {
      if (!properties) {
        for (const key of Object.keys(value)) {
          if (!columns.includes(key)) columns.push(key);
        }
      }
    } else hasValues = true;
  }
  const header = ["(idx)", ...columns, ...(hasValues ? ["Values"] : [])];
  const body = rows.map(([key, value]) => {
    const isObj = typeof value === "object" && value !== null;
    const cells = columns.map((col) =>
      isObj && col in value ? cell((value as Record<string, unknown>)[col]) : ""
    );
    return [
      String(key),
      ...cells,
      ...(hasValues ? [isObj ? "" : cell(value)] : []),
    ];
  });
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.map((r) => (r[i] ?? "").length))
  );
  const line = (r: string[]) =>
    `│ ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" │ ")} │`;
  return [line(header), ...body.map(line)].join("\n");
}

function cell(value: unknown): string {
  return Deno.inspect(value, { colors: false, depth: 1, compact: true });
}
