/**
 * Readable, coloured rendering of JSON log lines for local development
 * (`--log-format pretty`) and `cortex logs`.
 *
 * @module
 */

/** Options of {@linkcode prettyLine}. */
export interface PrettyOptions {
  /** Emit ANSI colours. */
  color: boolean;
}

const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
const LEVEL_COLORS: Readonly<Record<string, string>> = {
  DEBUG: "\x1b[90m",
  INFO: "\x1b[32m",
  WARNING: "\x1b[33m",
  ERROR: "\x1b[31m",
};
const SKIPPED = new Set([
  "asctime",
  "levelname",
  "message",
  "labels",
  "process",
  "exc_info",
]);

/**
 * Renders one JSON log line as
 * `12:00:01.123 INFO  [iris r1 req=abc] message key=value …`, with the
 * `exc_info` stack on the following lines. The time is the UTC time of
 * `asctime`. Lines that are not JSON log objects are returned unchanged.
 *
 * @param jsonLine One line, without its newline.
 * @param opts Whether to colour the output.
 * @returns The readable line.
 *
 * @example Usage
 * ```ts
 * import { prettyLine } from "./pretty.ts";
 * prettyLine('{"levelname":"INFO","message":"hi"}', { color: false }); // "INFO  hi"
 * ```
 */
export function prettyLine(jsonLine: string, opts: PrettyOptions): string {
  const rec = parseRecord(jsonLine);
  if (rec === undefined) return jsonLine;
  const paint = (code: string, s: string) =>
    opts.color && s !== "" ? `${code}${s}${RESET}` : s;

  const level = String(rec.levelname);
  const out: string[] = [];
  const time = typeof rec.asctime === "string"
    ? /T(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(rec.asctime)?.[1]
    : undefined;
  if (time !== undefined) out.push(paint(DIM, time));
  out.push(paint(LEVEL_COLORS[level] ?? "", level.padEnd(5)));
  const labels = labelText(rec.labels);
  if (labels !== "") out.push(paint(DIM, `[${labels}]`));
  out.push(typeof rec.message === "string" ? rec.message : "");
  for (const [key, value] of Object.entries(rec)) {
    if (SKIPPED.has(key)) continue;
    out.push(`${paint(DIM, `${key}=`)}${valueText(value)}`);
  }
  let line = out.join(" ");
  if (typeof rec.exc_info === "string" && rec.exc_info !== "") {
    line += `\n${paint(LEVEL_COLORS.ERROR ?? "", rec.exc_info)}`;
  }
  return line;
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const rec: unknown = JSON.parse(line);
    if (
      typeof rec === "object" && rec !== null && !Array.isArray(rec) &&
      "levelname" in rec && "message" in rec
    ) {
      return rec as Record<string, unknown>;
    }
  } catch {
    // Not JSON: passed through.
  }
  return undefined;
}

function labelText(labels: unknown): string {
  if (typeof labels !== "object" || labels === null) return "";
  const l = labels as Record<string, unknown>;
  const parts: string[] = [];
  if (l.apiName !== undefined) parts.push(String(l.apiName));
  if (l.replicaId !== undefined) parts.push(String(l.replicaId));
  if (l.requestId !== undefined) parts.push(`req=${String(l.requestId)}`);
  for (const [key, value] of Object.entries(l)) {
    if (["apiName", "apiKind", "replicaId", "requestId"].includes(key)) {
      continue;
    }
    parts.push(`${key}=${valueText(value)}`);
  }
  return parts.join(" ");
}

function valueText(value: unknown): string {
  if (typeof value === "string") {
    return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  }
  return JSON.stringify(value) ?? String(value);
}
