/**
 * Runs the pinned `buf` CLI and `protoc-gen-es` plugin, found by
 * `./toolchain.ts` (the repo's toolchain, else Deno's npm support).
 *
 * @module
 */

import { GrpcConfigError } from "../common/grpc_config_error.ts";
import { bufBinary, protocGenEsCommand } from "./toolchain.ts";

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
  const bin = await bufBinary();
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
        `Cannot run buf "${bin}": file not found; set CORTEX_BUF_BIN to a buf binary, or unset it to use the toolchain or Deno's npm cache`,
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
export async function esTemplate(out: string): Promise<string> {
  const command = await protocGenEsCommand();
  return JSON.stringify({
    version: "v2",
    plugins: [{
      // A path, or a program and its arguments.
      local: command.length === 1 ? command[0] : command,
      out,
      opt: ["target=ts", "import_extension=ts"],
    }],
  });
}
