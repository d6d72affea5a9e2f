/**
 * Loads compiled descriptors into a `@bufbuild/protobuf` registry and
 * describes the one service of an API.
 *
 * @module
 */

import {
  createFileRegistry,
  type DescService,
  type FileRegistry,
  fromBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { GrpcConfigError } from "./grpc_config_error.ts";
import { normaliseProtoPath } from "./proto_path.ts";
import type { MethodKind } from "./protocol.ts";

/** One RPC of a service. */
export interface MethodInfo {
  /** As in the `.proto`, e.g. `Predict`. */
  name: string;
  kind: MethodKind;
  /** Full name of the request message. */
  input: string;
  /** Full name of the response message. */
  output: string;
}

/** The service an API serves. */
export interface ServiceInfo {
  /** Full name, e.g. `echo.v1.Echo`. */
  serviceName: string;
  methods: MethodInfo[];
}

const KINDS: Record<DescService["methods"][number]["methodKind"], MethodKind> =
  {
    unary: "unary",
    client_streaming: "client_stream",
    server_streaming: "server_stream",
    bidi_streaming: "bidi",
  };

/**
 * Builds a registry from FileDescriptorSet bytes.
 *
 * @param descriptorSet output of `compileProto`
 * @returns every file, message, enum, service and extension of the set
 * @throws {GrpcConfigError} when the bytes are not a valid set
 */
export function loadRegistry(descriptorSet: Uint8Array): FileRegistry {
  try {
    return createFileRegistry(
      fromBinary(FileDescriptorSetSchema, descriptorSet),
    );
  } catch (err) {
    throw new GrpcConfigError(
      `Cannot load compiled descriptors: ${(err as Error).message}`,
    );
  }
}

/**
 * Finds the one service that `protoPath` defines.
 *
 * @param registry from `loadRegistry`
 * @param protoPath the API's `.proto`, relative to the project
 * @returns the service descriptor
 * @throws {GrpcConfigError} when the file defines zero or several services
 */
export function findService(
  registry: FileRegistry,
  protoPath: string,
): DescService {
  const path = normaliseProtoPath(protoPath);
  const file = registry.getFile(path);
  if (file === undefined) {
    throw new GrpcConfigError(
      `Cannot find "${path}" in the compiled descriptors`,
    );
  }
  const services = file.services;
  if (services.length !== 1) {
    const names = services.map((s) => `"${s.typeName}"`).join(", ");
    throw new GrpcConfigError(
      `Protobuf "${path}" must define exactly one service: it defines ${services.length}${
        names ? ` (${names})` : ""
      }`,
    );
  }
  return services[0]!;
}

/**
 * Describes the one service of an API's `.proto`.
 *
 * @example
 * ```ts ignore
 * const set = await compileProto("./examples/grpc", "echo.proto");
 * describeService(set, "echo.proto").serviceName; // "echo.v1.Echo"
 * ```
 *
 * @param descriptorSet output of `compileProto`
 * @param protoPath the API's `.proto`, relative to the project
 * @returns the full service name and its methods
 * @throws {GrpcConfigError} when the file defines zero or several services
 */
export function describeService(
  descriptorSet: Uint8Array,
  protoPath: string,
): ServiceInfo {
  const service = findService(loadRegistry(descriptorSet), protoPath);
  return {
    serviceName: service.typeName,
    methods: service.methods.map((m) => ({
      name: m.name,
      kind: KINDS[m.methodKind],
      input: m.input.typeName,
      output: m.output.typeName,
    })),
  };
}
