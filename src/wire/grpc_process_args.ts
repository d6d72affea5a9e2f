/**
 * The gRPC process's command line (src/grpc_process/main.ts), written by the
 * supervisor: where the serving process's bridge socket is, the compiled
 * descriptors, where grpc-js listens, and how to log.
 *
 * @module
 */

import type { LogLevel } from "../config/resolved_config.ts";
import {
  type ArgvCodec,
  integerFlag,
  optionalFlag,
  parseFlags,
  requiredFlag,
  UsageError,
} from "./argv.ts";

/** Everything the supervisor tells the gRPC process. */
export interface GrpcProcessArgs {
  /** The serving process's bridge socket. */
  socket: string;
  /** The compiled descriptors (src/wire/descriptors.ts). */
  descriptors: string;
  /** The address grpc-js listens on. */
  host: string;
  /** The gRPC port (0: any free port). */
  grpcPort: number;
  logLevel: LogLevel;
  logFormat: "json" | "pretty";
}

const WHAT = "gRPC process";
const LEVELS: readonly string[] = ["debug", "info", "warning", "error"];

/** The gRPC process's command line, both ways. */
export const grpcProcessArgv: ArgvCodec<GrpcProcessArgs> = {
  toArgv: (a) => [
    ...optionalFlag("socket", a.socket),
    ...optionalFlag("descriptors", a.descriptors),
    ...optionalFlag("host", a.host),
    ...optionalFlag("grpc-port", a.grpcPort),
    ...optionalFlag("log-level", a.logLevel),
    ...optionalFlag("log-format", a.logFormat),
  ],
  parseArgv: (argv) => {
    const { values, positionals } = parseFlags(WHAT, argv, {
      socket: { type: "string" },
      descriptors: { type: "string" },
      host: { type: "string" },
      "grpc-port": { type: "string" },
      "log-level": { type: "string" },
      "log-format": { type: "string" },
    });
    if (positionals.length > 0) {
      throw new UsageError(`${WHAT}: unexpected argument "${positionals[0]}"`);
    }
    const need = (flag: string) => requiredFlag(WHAT, values, flag);
    const level = need("log-level");
    if (!LEVELS.includes(level)) {
      throw new UsageError(`${WHAT}: option --log-level is "${level}"`);
    }
    const format = need("log-format");
    if (format !== "json" && format !== "pretty") {
      throw new UsageError(`${WHAT}: option --log-format is "${format}"`);
    }
    return {
      socket: need("socket"),
      descriptors: need("descriptors"),
      host: need("host"),
      grpcPort: integerFlag(WHAT, "grpc-port", need("grpc-port")),
      logLevel: level as LogLevel,
      logFormat: format,
    };
  },
};
