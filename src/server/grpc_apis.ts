/**
 * The gRPC APIs a server can serve: each API with a ready replica, its
 * descriptor set (precompiled, or compiled now), and exactly one service no
 * other API serves. An API that fails these checks fails alone: its error is
 * logged and set on its pool, and the pool is stopped.
 *
 * @module
 */

import { compileProto } from "../grpc/build/proto_compile.ts";
import { describeService } from "../grpc/common/registry.ts";
import type { Server } from "./project_server.ts";

/** A gRPC API ready to be served. */
export interface PreparedGrpcApi {
  name: string;
  protobufPath: string;
  descriptorSet: Uint8Array;
  handlerMethods: string[];
}

/** Checks the gRPC APIs of `s` and returns those that can be served. */
export async function prepareGrpcApis(s: Server): Promise<PreparedGrpcApi[]> {
  const apis: PreparedGrpcApi[] = [];
  const served = new Map<string, string>();
  for (const { pool } of s.apis.values()) {
    const path = pool.api.handler.protobufPath;
    if (path === null || pool.ready.length === 0) continue;
    let descriptorSet: Uint8Array;
    try {
      descriptorSet = s.opts.descriptors?.[path]?.set ??
        s.descriptorSetOf(pool.api.name) ??
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
  return apis;
}

/** Whether gRPC clients should see `name` as SERVING. */
export function isServing(s: Server, name: string): boolean {
  return !s.draining && (s.apis.get(name)?.pool.ready.length ?? 0) > 0;
}
