/**
 * The gRPC server: serves the one service of each gRPC API on a shared port,
 * routing every call into the API's replicas, plus health checking and
 * server reflection.
 *
 * @module
 */

import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import type { MethodRoute } from "./call_bridge.ts";
import { makeCallHandler } from "./call_handlers.ts";
import { rawBytes } from "./codec.ts";
import { GrpcConfigError } from "../common/grpc_config_error.ts";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.ts";
import { file_grpc_reflection_v1_reflection } from "../gen/grpc/reflection/v1/reflection_pb.ts";
import { file_grpc_reflection_v1alpha_reflection } from "../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { guardClientGoaway, type SessionSource } from "./goaway_guard.ts";
import { HealthService } from "./health_service.ts";
import { type GrpcLogVerbosity, routeGrpcLogs } from "./grpcjs_logging.ts";
import {
  GRPC_MESSAGE_BYTES,
  type GrpcBackend,
  type GrpcLogger,
} from "../common/protocol.ts";
import { ReflectionService } from "./reflection.ts";
import { findService, loadRegistry } from "../common/registry.ts";

export { compileProto } from "../build/proto_compile.ts";
export { describeService } from "../common/registry.ts";
export { GrpcConfigError } from "../common/grpc_config_error.ts";

/** A gRPC API as the core hands it over. */
export interface GrpcApi {
  name: string;
  /** `handler.protobuf_path`, relative to the project. */
  protobufPath: string;
  /** FileDescriptorSet bytes from `compileProto` (or embedded at compile). */
  descriptorSet: Uint8Array;
  /** Method names of the handler class. */
  handlerMethods: string[];
}

/** Options of {@linkcode startGrpcServer}. */
export interface GrpcServerOptions {
  apis: GrpcApi[];
  host: string;
  /** 0 picks a free port. */
  port: number;
  backend: GrpcBackend;
  logger: GrpcLogger;
  health: { isServing(apiName: string): boolean };
  /** Largest request or response message in bytes (default 32 MiB). */
  maxMessageBytes?: number;
  /** How much grpc-js logs (default "error"). */
  logVerbosity?: GrpcLogVerbosity;
}

/** A running gRPC server. */
export interface GrpcServer {
  /** The bound port. */
  port: number;
  /**
   * Stops accepting calls, reports NOT_SERVING, waits up to `graceMs` for
   * calls in flight, then cancels the rest.
   */
  shutdown(graceMs: number): Promise<void>;
  /** Sets an API's health status (overrides `health.isServing`). */
  setServing(apiName: string, serving: boolean): void;
}

/**
 * Starts the gRPC server for the gRPC APIs of a project.
 *
 * @example
 * ```ts ignore
 * const server = await startGrpcServer({
 *   apis: [{ name: "echo", protobufPath: "echo.proto", descriptorSet, handlerMethods: ["Say"] }],
 *   host: "0.0.0.0",
 *   port: 9000,
 *   backend,
 *   logger,
 *   health: { isServing: () => true },
 * });
 * await server.shutdown(30_000);
 * ```
 *
 * @param opts the APIs, the address, and the core's hooks
 * @returns the bound port and controls
 * @throws {GrpcConfigError} when an API's `.proto` does not define exactly
 * one service, or two APIs define the same service
 */
export async function startGrpcServer(
  opts: GrpcServerOptions,
): Promise<GrpcServer> {
  routeGrpcLogs(opts.logger, opts.logVerbosity);
  const max = opts.maxMessageBytes ?? GRPC_MESSAGE_BYTES;
  const server = new Server({
    "grpc.max_receive_message_length": max,
    "grpc.max_send_message_length": max,
  });
  const apiOf = new Map<string, string>();
  const files: FileDescriptorProto[] = [
    file_grpc_health_v1_health.proto,
    file_grpc_reflection_v1_reflection.proto,
    file_grpc_reflection_v1alpha_reflection.proto,
  ];
  for (const api of opts.apis) {
    const registry = loadRegistry(api.descriptorSet);
    const service = findService(registry, api.protobufPath);
    const other = apiOf.get(service.typeName);
    if (other !== undefined) {
      throw new GrpcConfigError(
        `Cannot serve service "${service.typeName}" for API "${api.name}": API "${other}" already serves it`,
      );
    }
    apiOf.set(service.typeName, api.name);
    for (const file of registry.files) files.push(file.proto);
    for (const method of service.methods) {
      const lower = method.name.charAt(0).toLowerCase() + method.name.slice(1);
      const implemented = api.handlerMethods.includes(method.name) ||
        api.handlerMethods.includes(lower);
      if (!implemented) {
        opts.logger.warning(
          `Handler of API "${api.name}" has no method "${method.name}": calls to "${service.typeName}/${method.name}" will get UNIMPLEMENTED`,
          { api: api.name },
        );
      }
      const route: MethodRoute = {
        api: api.name,
        method,
        kind: ({
          unary: "unary",
          client_streaming: "client_stream",
          server_streaming: "server_stream",
          bidi_streaming: "bidi",
        } as const)[method.methodKind],
        implemented,
        backend: opts.backend,
        logger: opts.logger,
      };
      server.register(
        `/${service.typeName}/${method.name}`,
        makeCallHandler(route),
        rawBytes,
        rawBytes,
        ({
          unary: "unary",
          client_stream: "clientStream",
          server_stream: "serverStream",
          bidi: "bidi",
        } as const)[route.kind],
      );
    }
  }
  const health = new HealthService(apiOf, (api) => opts.health.isServing(api));
  health.register(server);
  new ReflectionService(files, [
    ...apiOf.keys(),
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ]).register(server);
  const port = await bind(server, opts.host, opts.port);
  for (const http2Server of http2ServersOf(server)) {
    guardClientGoaway(http2Server);
  }
  return {
    port,
    setServing: (api, serving) => health.setServing(api, serving),
    shutdown: (graceMs) => shutdown(server, health, graceMs),
  };
}

function bind(server: Server, host: string, port: number): Promise<number> {
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, p) => {
      if (err) {
        server.forceShutdown();
        reject(
          new Error(`Cannot listen for gRPC on "${address}": ${err.message}`),
        );
      } else resolve(p);
    });
  });
}

/** grpc-js's node:http2 servers (a private field of its `Server`, 1.14). */
function http2ServersOf(server: Server): Iterable<SessionSource> {
  const servers = (server as unknown as { http2Servers?: unknown })
    .http2Servers;
  if (!(servers instanceof Map)) {
    throw new TypeError(
      "grpc-js Server has no http2Servers map: goaway_guard.ts needs updating",
    );
  }
  return servers.keys();
}

async function shutdown(
  server: Server,
  health: HealthService,
  graceMs: number,
): Promise<void> {
  health.shutdown();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => resolve());
  });
  clearTimeout(timer);
}
