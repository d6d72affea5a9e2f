/**
 * Compiles an API's `.proto` into a FileDescriptorSet with `buf build`.
 *
 * @module
 */

import { GrpcConfigError } from "../common/grpc_config_error.ts";
import { runBuf } from "./buf.ts";
import { normaliseProtoPath } from "../common/proto_path.ts";

/**
 * Compiles `protoPath` and everything it imports (other project files and
 * well-known types) into FileDescriptorSet bytes. Imports resolve from the
 * project directory.
 *
 * @example
 * ```ts ignore
 * const set = await compileProto("./examples/grpc", "echo.proto");
 * ```
 *
 * @param projectDir the directory that holds cortex.yaml
 * @param protoPath the `.proto`, relative to `projectDir`
 * @returns binary `google.protobuf.FileDescriptorSet`, with source info
 * @throws {GrpcConfigError} with buf's `file:line:col` messages when the
 * file does not compile
 */
export async function compileProto(
  projectDir: string,
  protoPath: string,
): Promise<Uint8Array> {
  const path = normaliseProtoPath(protoPath);
  try {
    await Deno.stat(`${projectDir}/${path}`);
  } catch {
    throw new GrpcConfigError(
      `Cannot compile protobuf "${path}": file not found in "${projectDir}"`,
    );
  }
  const result = await runBuf([
    "build",
    ".",
    "--path",
    path,
    "--as-file-descriptor-set",
    "--error-format",
    "text",
    "-o",
    "-#format=binpb",
  ], projectDir);
  if (!result.success) {
    const details = result.stderr.split("\n").filter((l) => l.trim() !== "")
      .join("; ");
    throw new GrpcConfigError(
      `Cannot compile protobuf "${path}": ${details || "buf failed"}`,
    );
  }
  return result.stdout;
}
