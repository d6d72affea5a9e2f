/**
 * Runs the gRPC server in this process (compiled binaries, which have no
 * supervisor): the gRPC APIs of `grpc_apis.ts`, wired to the replica pools.
 * Under `cortex serve` the gRPC process does this instead
 * (`grpc_bridge_server.ts`).
 *
 * @module
 */

import { startGrpcServer } from "../grpc/frontend/grpc_server.ts";
import { isServing, prepareGrpcApis } from "./grpc_apis.ts";
import type { GrpcSide, Server } from "./project_server.ts";

type Running = Awaited<ReturnType<typeof startGrpcServer>>;

/** The gRPC side of a server, in process. */
export class GrpcFrontend implements GrpcSide {
  readonly #server: Server;
  #running: Running | null = null;

  constructor(server: Server) {
    this.#server = server;
  }

  /** The bound port, once started. */
  get port(): number | null {
    return this.#running?.port ?? null;
  }

  /** Checks the APIs and listens on --grpc-port. */
  async start(): Promise<void> {
    const s = this.#server;
    const apis = await prepareGrpcApis(s);
    const log =
      (level: "debug" | "info" | "warning" | "error") =>
      (message: string, extra?: Record<string, unknown>) =>
        s.logger[level](message, { extra: { component: "grpc", ...extra } });
    this.#running = await startGrpcServer({
      apis,
      host: s.opts.hostname,
      port: s.opts.grpcPort,
      backend: s.grpcBackend,
      logger: {
        debug: log("debug"),
        info: log("info"),
        warning: log("warning"),
        error: log("error"),
      },
      health: { isServing: (name: string) => isServing(s, name) },
    });
  }

  /** Listening already: nothing to wait for. */
  ready(): Promise<void> {
    return Promise.resolve();
  }

  /** Stops taking calls and waits for running ones up to `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    await this.#running?.shutdown(graceMs);
  }
}
