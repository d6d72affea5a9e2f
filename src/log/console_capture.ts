/**
 * A `console` for handler workers that turns every call into a log line with
 * the worker's labels.
 *
 * @module
 */

import type { LogLevel } from "../config/resolved_config.ts";
import type { Logger } from "./logger.ts";
import { formatArgs, renderTable } from "./_console_format.ts";

/**
 * Builds a `Console` that writes through `logger`: log/info → INFO,
 * warn → WARNING, error/assert → ERROR, debug/trace → DEBUG. Arguments are
 * formatted as Deno's console does (strings as is, other values via
 * `Deno.inspect`, `%s %d %i %f %o %O %j %c` in a leading string). Install it
 * with `globalThis.console = makeConsole(logger)` inside a worker.
 *
 * @param logger The worker's logger (or a function returning the current
 * one, e.g. the request-scoped logger while a request runs).
 * @returns A console object.
 *
 * @example Usage
 * ```ts
 * import { Logger } from "./logger.ts";
 * import { makeConsole } from "./console_capture.ts";
 * const logger = new Logger({ level: "info", labels: {}, write: () => {} });
 * const c = makeConsole(logger);
 * c.log("answer: %d", 42);
 * ```
 */
export function makeConsole(
  logger: Logger | (() => Logger),
  rewrite: (text: string) => string = (text) => text,
): Console {
  const current = typeof logger === "function" ? logger : () => logger;
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  let indent = "";

  function emit(level: LogLevel, data: unknown[], prefix = ""): void {
    const log = current();
    if (!log.enabled(level)) return;
    const text = rewrite(prefix + formatArgs(data));
    const message = indent === "" ? text : indent +
      text.replaceAll("\n", `\n${indent}`);
    log.log(level, message);
  }

  function elapsed(label: string): string | undefined {
    const start = timers.get(label);
    if (start === undefined) {
      emit("warning", [`Timer "${label}" does not exist`]);
      return undefined;
    }
    return `${label}: ${(performance.now() - start).toFixed(3)}ms`;
  }

  const c: Console = {
    log: (...data: unknown[]) => emit("info", data),
    info: (...data: unknown[]) => emit("info", data),
    dirxml: (...data: unknown[]) => emit("info", data),
    warn: (...data: unknown[]) => emit("warning", data),
    error: (...data: unknown[]) => emit("error", data),
    debug: (...data: unknown[]) => emit("debug", data),
    trace: (...data: unknown[]) => {
      const stack = new Error().stack?.split("\n").slice(2).join("\n") ?? "";
      emit(
        "debug",
        [formatArgs(data) + (stack === "" ? "" : `\n${stack}`)],
        "Trace: ",
      );
    },
    dir: (item?: unknown, options?: Deno.InspectOptions) =>
      emit("info", [Deno.inspect(item, { colors: false, ...options })]),
    table: (data?: unknown, properties?: string[]) =>
      emit("info", [renderTable(data, properties)]),
    assert: (condition?: boolean, ...data: unknown[]) => {
      if (condition) return;
      emit(
        "error",
        data.length === 0 ? ["Assertion failed"] : data,
        data.length === 0 ? "" : "Assertion failed: ",
      );
    },
    count: (label = "default") => {
      const n = (counts.get(label) ?? 0) + 1;
      counts.set(label, n);
      emit("info", [`${label}: ${n}`]);
    },
    countReset: (label = "default") => {
      counts.delete(label);
    },
    time: (label = "default") => {
      if (timers.has(label)) {
        emit("warning", [`Timer "${label}" already exists`]);
        return;
      }
      timers.set(label, performance.now());
    },
    timeLog: (label = "default", ...data: unknown[]) => {
      const text = elapsed(label);
      if (text !== undefined) emit("info", [text, ...data]);
    },
    timeEnd: (label = "default") => {
      const text = elapsed(label);
      timers.delete(label);
      if (text !== undefined) emit("info", [text]);
    },
    group: (...data: unknown[]) => {
      if (data.length > 0) emit("info", data);
      indent += "  ";
    },
    groupCollapsed: (...data: unknown[]) => {
      if (data.length > 0) emit("info", data);
      indent += "  ";
    },
    groupEnd: () => {
      indent = indent.slice(2);
    },
    clear: () => {},
    timeStamp: () => {},
    profile: () => {},
    profileEnd: () => {},
  };
  return c;
}
