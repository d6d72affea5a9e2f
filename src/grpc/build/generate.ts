/**
 * `cortex gen`: typed message code for handler authors, written with
 * protoc-gen-es.
 *
 * @module
 */

import { GrpcConfigError } from "../common/grpc_config_error.ts";
import { esTemplate, runBuf } from "./buf.ts";
import { normaliseProtoPath } from "../common/proto_path.ts";

/**
 * Writes TypeScript for `protoPath` and the project files it imports into
 * `<projectDir>/gen/` (e.g. `gen/echo_pb.ts`). Well-known types come from
 * `@bufbuild/protobuf/wkt`. Existing files are overwritten; others are left.
 *
 * @example
 * ```ts ignore
 * const files = await generateTypes("./examples/grpc", "echo.proto");
 * // ["gen/echo_pb.ts"]
 * ```
 *
 * @param projectDir the directory that holds cortex.yaml
 * @param protoPath the API's `.proto`, relative to `projectDir`
 * @returns the written files, relative to `projectDir`, sorted
 * @throws {GrpcConfigError} when the file does not compile
 */
export async function generateTypes(
  projectDir: string,
  protoPath: string,
): Promise<string[]> {
  const path = normaliseProtoPath(protoPath);
  const tmp = await Deno.makeTempDir({ prefix: "cortex-gen-" });
  try {
    const result = await runBuf([
      "generate",
      ".",
      "--path",
      path,
      "--include-imports",
      "--template",
      await esTemplate("gen"),
      "-o",
      tmp,
    ], projectDir);
    if (!result.success) {
      const details = result.stderr.split("\n").filter((l) => l.trim())
        .join("; ");
      throw new GrpcConfigError(
        `Cannot generate types for "${path}": ${details || "buf failed"}`,
      );
    }
    const written: string[] = [];
    for (const rel of await listFiles(tmp, "gen")) {
      const target = `${projectDir}/${rel}`;
      await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), {
        recursive: true,
      });
      await Deno.copyFile(`${tmp}/${rel}`, target);
      written.push(rel);
    }
    return written.sort();
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

async function listFiles(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${root}/${dir}`)) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory) out.push(...await listFiles(root, rel));
      else if (entry.isFile) out.push(rel);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}
