/**
 * What the serving process needs to open a gRPC API's HTTP door (Connect
 * and gRPC-Web, served by its replicas: src/grpc/replica/connect_serve.ts): the
 * API's descriptors, sent to each replica, and the service path routed to
 * it. Loaded on demand, so HTTP-only projects never load the toolchain.
 *
 * @module
 */

import { compileProto } from "../grpc/build/proto_compile.ts";
import { describeService } from "../grpc/common/registry.ts";
import type { DescriptorMap } from "../wire/descriptors.ts";

/** A gRPC API's HTTP door. */
export interface GrpcDoor {
  /** The compiled FileDescriptorSet of the API's `.proto`. */
  descriptorSet: Uint8Array;
  /** `/<package>.<Service>`: requests under it go to the API. */
  servicePath: string;
}

/**
 * Describes the door of the API whose `.proto` is `protobufPath`.
 *
 * @param projectDir the project, for compiling when nothing is precompiled
 * @param protobufPath the API's `.proto`, relative to the project
 * @param precompiled the supervisor's (or a compiled binary's) descriptors
 * @returns the descriptors and the service path
 * @throws {Error} the compile error, or a `.proto` without exactly one service
 */
export async function grpcDoor(
  projectDir: string,
  protobufPath: string,
  precompiled: DescriptorMap | undefined,
): Promise<GrpcDoor> {
  const known = precompiled?.[protobufPath];
  if (known?.error) throw new Error(known.error);
  const descriptorSet = known?.set ??
    await compileProto(projectDir, protobufPath);
  const { serviceName } = describeService(descriptorSet, protobufPath);
  return { descriptorSet, servicePath: `/${serviceName}` };
}
