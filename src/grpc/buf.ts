/**
 * Runs the pinned `buf` CLI and `protoc-gen-es` plugin from the repo's
 * toolchain (`tools/deno/node_modules`).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { GrpcConfigError } from "./config_error.ts";

const TOOLS = new URL("../../tools/deno/node_modules/", import.meta.url);

/**
 * The buf binary: `$CORTEX_BUF_BIN`, else the platform package of
 * `@bufbuild/buf` in the repo's toolchain.
 *
 * @returns an absolute path
 */
export function bufBinary(): string {
  const override = Deno.env.get("CORTEX_BUF_BIN");
  if (override) return override;
  const os = Deno.build.os === "windows" ? "win32" : Deno.build.os;
  const arch = Deno.build.arch === "x86_64" ? "x64" : "arm64";
  const exe = Deno.build.os === "windows" ? "buf.exe" : "buf";
  return fileURLToPath(
    new URL(`@bufbuild/buf-${os}-${arch}/bin/${exe}`, TOOLS),
  );
}

/**
 * The protoc-gen-es plugin: `$CORTEX_PROTOC_GEN_ES`, else the one in the
 * repo's toolchain (a Node.js script).
 *
 * @returns an absolute path
 */
export function protocGenEsBinary(): string {
  return Deno.env.get("CORTEX_PROTOC_GEN_ES") ??
    fileURLToPath(new URL(".bin/protoc-gen-es", TOOLS));
}

/** The outcome of one buf run. */
export interface BufResult {
  success: boolean;
  stdout: Uint8Array;
  /** Trimmed (plain text: the log format is "text"). */
  stderr: string;
}

/**
 * Runs buf with a private, temporary cache directory.
 *
 * @param args buf's arguments
 * @param cwd the directory buf runs in
 * @returns its exit status and output
 * @throws {GrpcConfigError} when the binary cannot be started
 */
export async function runBuf(args: string[], cwd: string): Promise<BufResult> {
  const bin = bufBinary();
  const cache = await Deno.makeTempDir({ prefix: "cortex-buf-cache-" });
  try {
    const out = await new Deno.Command(bin, {
      args,
      cwd,
      env: { BUF_CACHE_DIR: cache, BUF_LOG_FORMAT: "text", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      success: out.success,
      stdout: out.stdout,
      stderr: new TextDecoder().decode(out.stderr).trim(),
    };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new GrpcConfigError(
        `Cannot run buf "${bin}": file not found; run ./deno once to install the toolchain, or set CORTEX_BUF_BIN`,
      );
    }
    throw err;
  } finally {
    await Deno.remove(cache, { recursive: true }).catch(() => {});
  }
}

/**
 * A `buf generate` template (v2) that runs protoc-gen-es with TypeScript
 * output and `.ts` import extensions, so Deno can import the files.
 *
 * @param out the output directory, relative to buf's `-o` base
 * @returns the template as JSON, for `--template`
 */
export function esTemplate(out: string): string {
  return JSON.stringify({
    version: "v2",
    plugins: [{
      local: protocGenEsBinary(),
      out,
      opt: ["target=ts", "import_extension=ts"],
    }],
  });
}
