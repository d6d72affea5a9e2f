/**
 * Helpers for the end-to-end tests of replicas, autoscaling and /metrics:
 * scraping and querying the Prometheus text, polling with a deadline, and
 * requests that report network errors instead of throwing.
 *
 * @module
 */

/** One parsed sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses Prometheus text format 0.0.4; throws on a line it cannot read. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) {
      throw new Error(`Not a Prometheus sample line: ${JSON.stringify(line)}`);
    }
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(LABEL)) labels[k!] = v!;
    const raw = m[3]!;
    const value = raw === "+Inf"
      ? Infinity
      : raw === "-Inf"
      ? -Infinity
      : Number(raw);
    if (Number.isNaN(value) && raw !== "NaN") {
      throw new Error(`Bad value in ${JSON.stringify(line)}`);
    }
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** A scrape: query samples by name and a subset of labels. */
export class Metrics {
  constructor(readonly text: string, readonly samples: Sample[]) {}

  /** Samples named `name` whose labels include `labels`. */
  all(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) =>
      s.name === name &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v)
    );
  }

  /** The single matching value; throws when absent or ambiguous. */
  get(name: string, labels: Record<string, string> = {}): number {
    const found = this.all(name, labels);
    if (found.length !== 1) {
      throw new Error(
        `Expected one sample ${name}${
          JSON.stringify(labels)
        }, found ${found.length}:\n${this.text}`,
      );
    }
    return found[0]!.value;
  }

  /** The matching value, or `fallback` when absent. */
  value(
    name: string,
    labels: Record<string, string> = {},
    fallback = 0,
  ): number {
    const found = this.all(name, labels);
    return found.length === 1 ? found[0]!.value : fallback;
  }
}

/** GET /metrics (with a per-request timeout, so a stuck replica cannot stall a poll). */
export async function scrape(url: string, timeoutMs = 3_000): Promise<Metrics> {
  const res = await fetch(`${url}/metrics`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`GET /metrics answered ${res.status}: ${text}`);
  }
  return new Metrics(text, parseMetrics(text));
}

/**
 * Calls `probe` until it returns a value other than undefined/false, or fails
 * after `timeoutMs` with the last value or error. `probe` errors are retried.
 */
export async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  while (true) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
      last = v;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}; last: ${
          last instanceof Error ? last.message : JSON.stringify(last)
        }`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The outcome of one request: a status (body read) or a network error. */
export interface Outcome {
  status: number | null;
  error: string | null;
  headers: Headers | null;
  body: string;
  /** When the outcome was known (Date.now()). */
  at: number;
  startedAt: number;
}

/** Fetches and reads the body; network errors become `{ status: null, error }`. */
export async function attempt(
  input: string,
  init: RequestInit & { client?: Deno.HttpClient } = {},
): Promise<Outcome> {
  const startedAt = Date.now();
  try {
    const res = await fetch(input, init);
    const body = await res.text();
    return {
      status: res.status,
      error: null,
      headers: res.headers,
      body,
      at: Date.now(),
      startedAt,
    };
  } catch (error) {
    return {
      status: null,
      error: String((error as Error)?.message ?? error),
      headers: null,
      body: "",
      at: Date.now(),
      startedAt,
    };
  }
}

/**
 * Runs `loops` clients that each send requests back to back until `stop()`,
 * recording every outcome.
 */
export function loadLoops(
  loops: number,
  makeUrl: (loop: number, i: number) => string,
  init: RequestInit = {},
): { outcomes: Outcome[]; stop(): Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  let stopped = false;
  const running = Array.from({ length: loops }, async (_, loop) => {
    for (let i = 0; !stopped; i++) {
      const signal = AbortSignal.timeout(15_000);
      outcomes.push(await attempt(makeUrl(loop, i), { ...init, signal }));
    }
  });
  return {
    outcomes,
    async stop() {
      stopped = true;
      await Promise.all(running);
      return outcomes;
    },
  };
}

/** Counts outcomes by status (network errors under "error"). */
export function tally(outcomes: Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.status === null ? "error" : String(o.status);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
