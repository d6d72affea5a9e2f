/**
 * What the control commands need from the terminal, passed in so tests can
 * capture output: writers, the environment, colour, and Ctrl-C.
 *
 * @module
 */

import { parseYaml, toPlain } from "../config/yaml_tree.ts";
import { UsageError } from "../wire/serve_options.ts";

/** The terminal as the control commands see it. */
export interface ControlIo {
  /** Writes a line to stdout. */
  out(text: string): void;
  /** Writes a line to stderr. */
  err(text: string): void;
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /** Colour output (a TTY and no NO_COLOR). */
  color: boolean;
  /** Stdout is a terminal (`get -w` clears the screen). */
  isTty: boolean;
  /** A signal that aborts on Ctrl-C; call the returned function when done. */
  interrupt(): { signal: AbortSignal; dispose(): void };
  /** Milliseconds between `get -w` refreshes. */
  watchIntervalMs: number;
}

const encoder = new TextEncoder();

function safeEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** The real terminal. */
export function terminalIo(): ControlIo {
  const isTty = Deno.stdout.isTerminal();
  return {
    out: (text) => Deno.stdout.writeSync(encoder.encode(text + "\n")),
    err: (text) => Deno.stderr.writeSync(encoder.encode(text + "\n")),
    env: safeEnv,
    color: isTty && !safeEnv("NO_COLOR"),
    isTty,
    interrupt() {
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      Deno.addSignalListener("SIGINT", onSignal);
      return {
        signal: abort.signal,
        dispose: () => Deno.removeSignalListener("SIGINT", onSignal),
      };
    },
    watchIntervalMs: 2000,
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

/**
 * Builds a patch object from a file or inline JSON/YAML text and
 * `--set path=value` flags (value parsed as JSON when it is JSON, else a string).
 *
 * @param source A file path, or text starting with "{", or undefined.
 * @param sets The `--set` flags.
 * @returns The partial spec.
 * @throws {UsageError} For a malformed flag or a source that is not a mapping.
 */
export async function readPatch(
  source: string | undefined,
  sets: string[],
): Promise<Record<string, unknown>> {
  let patch: Record<string, unknown> = {};
  if (source !== undefined) {
    const inline = source.trimStart().startsWith("{");
    const text = inline ? source : await Deno.readTextFile(source);
    const node = parseYaml(text, inline ? "patch" : source);
    const value = node === null ? null : toPlain(node);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new UsageError(
        `Cannot use patch "${source}": expected a mapping such as {"autoscaling": {"max_replicas": 4}}`,
      );
    }
    patch = value as Record<string, unknown>;
  }
  for (const set of sets) {
    const eq = set.indexOf("=");
    if (eq <= 0) {
      throw new UsageError(
        `Option --set is "${set}": expected path=value, e.g. autoscaling.max_replicas=4`,
      );
    }
    const path = set.slice(0, eq).split(".");
    if (
      path.some((k) => k === "" || k === "__proto__" || k === "constructor")
    ) {
      throw new UsageError(
        `Option --set is "${set}": the path has an empty or reserved key`,
      );
    }
    const raw = set.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // A bare string.
    }
    let node = patch;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node =
        node[key] =
          typeof next === "object" && next !== null && !Array.isArray(next)
            ? next as Record<string, unknown>
            : {};
    }
    node[path[path.length - 1]!] = value;
  }
  if (Object.keys(patch).length === 0) {
    throw new UsageError(
      "Nothing to patch: give a file, inline JSON or --set path=value",
    );
  }
  return patch;
}
