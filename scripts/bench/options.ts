/**
 * Command-line options of `deno task bench`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type ScenarioName, SCENARIOS } from "./types.ts";

/** Parsed options. */
export interface BenchOptions {
  only: ScenarioName[];
  durationS: number;
  warmupS: number;
  /** Longest wait for a quiet machine before each scenario (0: none). */
  quietWaitS: number;
  outDir: string;
  help: boolean;
}

export const USAGE = `Usage: deno task bench [options]

Options:
  --only LIST      Scenarios to run, comma-separated: ${
  SCENARIOS.join(",")
} (default: all)
  --duration S     Seconds per measured run (default 5)
  --warmup S       Seconds of warm-up before each run (default 1)
  --quiet-wait S   Wait up to S seconds before each scenario for other
                   processes to leave the CPUs idle (default 30, 0: no wait)
  --out DIR        Where results go (default bench-results)
  -h, --help       Show this help`;

function seconds(
  value: string | undefined,
  flag: string,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new TypeError(
      `Option --${flag} is "${value}": expected a whole number of seconds, at least ${min}`,
    );
  }
  return n;
}

/**
 * Parses the bench's arguments.
 *
 * @throws {TypeError} on unknown options, scenarios or bad numbers
 */
export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      only: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      "quiet-wait": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  const only = values.only === undefined
    ? [...SCENARIOS]
    : values.only.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const name of only) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new TypeError(
        `Option --only names "${name}": expected some of ${
          SCENARIOS.join(", ")
        }`,
      );
    }
  }
  return {
    only: only as ScenarioName[],
    durationS: seconds(values.duration, "duration", 5, 1),
    warmupS: seconds(values.warmup, "warmup", 1, 0),
    quietWaitS: seconds(values["quiet-wait"], "quiet-wait", 30, 0),
    outDir: values.out ?? "bench-results",
    help: values.help ?? false,
  };
}
