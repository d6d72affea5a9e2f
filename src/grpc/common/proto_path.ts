/**
 * The one spelling of an API's `handler.protobuf_path`, shared by the build
 * (compiling, generating) and the registry (finding the file in compiled
 * descriptors), so the replica side needs nothing from the build.
 *
 * @module
 */

import { GrpcConfigError } from "./grpc_config_error.ts";

/**
 * Checks that `protoPath` is a relative path inside the project and returns
 * it with POSIX separators and without a leading `./`.
 *
 * @param protoPath `handler.protobuf_path` as written
 * @returns the normalised path
 * @throws {GrpcConfigError} for absolute paths or paths leaving the project
 */
export function normaliseProtoPath(protoPath: string): string {
  const path = protoPath.replaceAll("\\", "/").replace(/^(\.\/)+/, "");
  if (
    path === "" || path.startsWith("/") || /^[a-zA-Z]:/.test(path) ||
    path.split("/").includes("..")
  ) {
    throw new GrpcConfigError(
      `Invalid protobuf path "${protoPath}": must be a relative path inside the project directory`,
    );
  }
  return path;
}
