/**
 * Routes grpc-js's own log lines into the runtime's structured logger.
 *
 * @module
 */

import { logVerbosity, setLogger, setLogVerbosity } from "@grpc/grpc-js";
import type { GrpcLogger } from "../common/protocol.ts";

/** How much grpc-js logs. */
export type GrpcLogVerbosity = "debug" | "info" | "error";

const LEVELS = {
  debug: logVerbosity.DEBUG,
  info: logVerbosity.INFO,
  error: logVerbosity.ERROR,
};

/**
 * Sends grpc-js logs to `logger` (grpc-js has one global logger). The
 * `GRPC_VERBOSITY` environment variable, when set, wins over `verbosity`.
 *
 * @param logger the runtime's logger
 * @param verbosity the least severe level to keep
 */
export function routeGrpcLogs(
  logger: GrpcLogger,
  verbosity: GrpcLogVerbosity = "error",
): void {
  const line = (args: unknown[]) => args.map(String).join(" ");
  const extra = { source: "grpc-js" };
  setLogger({
    debug: (...args: unknown[]) => logger.debug(line(args), extra),
    info: (...args: unknown[]) => logger.info(line(args), extra),
    warn: (...args: unknown[]) => logger.warning(line(args), extra),
    error: (...args: unknown[]) => logger.error(line(args), extra),
  });
  const env = Deno.env.get("GRPC_VERBOSITY")?.toLowerCase();
  const level = env === "debug" || env === "info" || env === "error"
    ? env
    : verbosity;
  setLogVerbosity(LEVELS[level]);
}
