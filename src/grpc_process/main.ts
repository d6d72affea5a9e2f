/**
 * Entry point of the gRPC process that `cortex serve` supervises next to the
 * serving process: grpc-js on the gRPC port, every call relayed over a Unix
 * socket to the serving process (src/server/grpc_bridge_server.ts). If
 * grpc-js takes this process down (node:http2 in Deno can abort), only gRPC
 * is interrupted while the supervisor restarts it.
 *
 * It never compiles protos: the descriptors come from the supervisor's file.
 * It starts grpc-js after the first hello (which names the APIs) and exits
 * with `EXIT.restart` (src/wire/exit_codes.ts) when a later hello names
 * other APIs (a restarted serving process), to be restarted with them, or
 * when its port stops accepting connections (src/grpc_process/listener_watch.ts).
 *
 * Its command line is `GrpcProcessArgs` (src/wire/grpc_process_args.ts).
 *
 * @module
 */

import { apiSetKey } from "../grpc/common/bridge_protocol.ts";
import type { GrpcLogger } from "../grpc/common/protocol.ts";
import {
  type GrpcServer,
  startGrpcServer,
} from "../grpc/frontend/grpc_server.ts";
import { Logger } from "../log/logger.ts";
import { StdoutSink } from "../log/stdout_sink.ts";
import { EXIT } from "../wire/exit_codes.ts";
import { grpcProcessArgv } from "../wire/grpc_process_args.ts";
import { readCommands } from "../wire/stdin_commands.ts";
import { decodeDescriptors } from "../wire/descriptors.ts";
import { watchListener } from "./listener_watch.ts";
import { type Hello, RemoteBackend } from "./remote_backend.ts";

const args = grpcProcessArgv.parseArgv(Deno.args);

const sink = new StdoutSink({ pretty: args.logFormat === "pretty" });
const logger = new Logger({
  level: args.logLevel,
  labels: { component: "grpc" },
  write: (lines) => sink.write(lines.join("\n") + "\n"),
});
const grpcLogger: GrpcLogger = {
  debug: (message, extra) => logger.debug(message, { extra }),
  info: (message, extra) => logger.info(message, { extra }),
  warning: (message, extra) => logger.warning(message, { extra }),
  error: (message, extra) => logger.error(message, { extra }),
};

async function exit(code: number): Promise<never> {
  await sink.flush();
  Deno.exit(code);
}

const descriptors = decodeDescriptors(
  await Deno.readTextFile(args.descriptors),
);
let running: GrpcServer | null = null;
let served: string | null = null;
let graceMs = 0;
const firstHello = Promise.withResolvers<Hello>();
const backend = new RemoteBackend({
  path: args.socket,
  logger,
  onHello: (hello) => {
    graceMs = hello.shutdownGraceMs;
    const key = apiSetKey(hello.apis);
    if (served === null) {
      served = key;
      firstHello.resolve(hello);
    } else if (key !== served) {
      logger.info("The serving process has other gRPC APIs now: restarting");
      void exit(EXIT.restart);
    }
  },
  onServing: (api, serving) => running?.setServing(api, serving),
});

// The supervisor decides: a signal to our process group is ignored here (the
// supervisor relays it once as "drain" on stdin).
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => {});
}
let draining = false;
void readCommands(async (why) => {
  if (draining) return;
  draining = true;
  logger.info(`Draining gRPC calls (${why})`, { extra: { graceMs } });
  await running?.shutdown(graceMs);
  backend.stop();
  logger.info("Stopped");
  await exit(EXIT.ok);
});
void backend.run();

const hello = await firstHello.promise;
const host = args.host;
try {
  running = await startGrpcServer({
    apis: hello.apis.map((api) => ({
      name: api.name,
      protobufPath: api.protobufPath,
      handlerMethods: api.handlerMethods,
      descriptorSet: descriptors[api.protobufPath]?.set ?? new Uint8Array(),
    })),
    host,
    port: args.grpcPort,
    backend,
    logger: grpcLogger,
    health: { isServing: (api) => backend.isServing(api) },
  });
} catch (error) {
  logger.exception("Cannot start the gRPC server", error);
  await exit(EXIT.failure);
}
const port = running!.port;
const shown = host === "0.0.0.0" ? "localhost" : host;
logger.info(`gRPC serving on ${shown}:${port}`, { extra: { grpcPort: port } });
backend.setPort(port);
// A listener that stopped accepting (src/grpc_process/listener_watch.ts)
// comes back only with a new process. With --grpc-port 0 the grant names
// port 0, so this process may not connect to the port it got: no watch.
if (args.grpcPort !== 0) {
  watchListener({
    hostname: host,
    port,
    onDead: (silentMs) => {
      if (draining) return;
      logger.error(
        `The gRPC port ${port} has accepted no connection for ${
          Math.round(silentMs / 1000)
        } s (Deno's node:net stops accepting after running out of descriptors): restarting the gRPC process`,
        { extra: { grpcPort: port, reason: "listener" } },
      );
      void exit(EXIT.restart);
    },
  });
}
