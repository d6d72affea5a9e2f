/**
 * Starts the gRPC server for a project's gRPC APIs: compiles each .proto (or
 * takes the descriptors embedded in a compiled binary) and wires calls to
 * the replica pools.
 *
 * @module
 */

import { compileProto } from "../grpc/compile.ts";
import { describeService, startGrpcServer } from "../grpc/server.ts";
import type { Server } from "./server.ts";

type Running = Awaited<ReturnType<typeof startGrpcServer>>;

/** The gRPC side of a server. */
export class GrpcFrontend {
  readonly #server: Server;
  #running: Running | null = null;

  constructor(server: Server) {
    this.#server = server;
  }

  /** The bound port, once started. */
  get port(): number | null {
    return this.#running?.port ?? null;
  }

  /** Compiles the protos and listens on --grpc-port. */
  async start(): Promise<void> {
    const s = this.#server;
    const apis = [];
    const served = new Map<string, string>();
    for (const { pool } of s.apis.values()) {
      const path = pool.api.handler.protobufPath;
      if (path === null || pool.ready.length === 0) continue;
      let descriptorSet: Uint8Array;
      try {
        descriptorSet = s.opts.descriptors?.[path]?.set ??
          await compileProto(s.project.dir, path);
        // A .proto that does not define exactly one service, or a service
        // another API serves, fails this API only (not the whole server).
        const service = describeService(descriptorSet, path).serviceName;
        const other = served.get(service);
        if (other !== undefined) {
          throw new Error(
            `Cannot serve service "${service}" for API "${pool.api.name}": API "${other}" already serves it`,
          );
        }
        served.set(service, pool.api.name);
      } catch (error) {
        pool.error = (error as Error).message;
        s.logger.exception(`API "${pool.api.name}" failed to start`, error, {
          extra: { api: pool.api.name },
        });
        await pool.stop(0);
        continue;
      }
      apis.push({
        name: pool.api.name,
        protobufPath: path,
        descriptorSet,
        handlerMethods: pool.ready[0]?.methods ?? [],
      });
    }
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
      health: {
        isServing: (name: string) =>
          !s.draining && (s.apis.get(name)?.pool.ready.length ?? 0) > 0,
      },
    });
  }

  /** Stops taking calls and waits for running ones up to `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    await this.#running?.shutdown(graceMs);
  }
}
