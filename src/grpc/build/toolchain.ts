/**
 * Finds the `buf` CLI and the `protoc-gen-es` plugin, pinned to the versions
 * of `tools/deno/package.json`:
 *
 * 1. `$CORTEX_BUF_BIN` / `$CORTEX_PROTOC_GEN_ES`, when set;
 * 2. the repo's toolchain, `tools/deno/node_modules` (installed by `./deno`
 *    with npm), when it holds the file;
 * 3. else Deno's own npm support, for a user who runs a Deno 2 of their own:
 *    `deno info npm:@bufbuild/buf-<os>-<arch>@<version>` fetches buf's
 *    platform package into Deno's npm cache and reports where it is (the
 *    binary is run from there), and protoc-gen-es runs as
 *    `deno run --allow-env npm:@bufbuild/protoc-gen-es@<version>`.
 *
 * Both Deno commands run with the Deno that runs this module
 * (`Deno.execPath()`), in child processes of their own: the caller needs
 * run permission for that Deno (and for buf's path) but no network.
 *
 * @module
 */

import { filePath as fileURLToPath } from "../../path/posix_path.ts";
import { GrpcConfigError } from "../common/grpc_config_error.ts";

/** buf's version in tools/deno/package.json (toolchain_test.ts checks). */
export const BUF_VERSION = "1.75.0";
/** protoc-gen-es's version in tools/deno/package.json (toolchain_test.ts checks). */
export const PROTOC_GEN_ES_VERSION = "2.17.0";

/** The toolchain `./deno` installs with npm. */
export const TOOLCHAIN_DIR: URL = new URL(
  "../../../tools/deno/node_modules/",
  import.meta.url,
);

/** buf's npm package for one platform, and the binary inside it. */
export interface BufPackage {
  /** e.g. `@bufbuild/buf-linux-x64` */
  name: string;
  /** e.g. `bin/buf` */
  bin: string;
}

/**
 * buf's platform package (the names of `@bufbuild/buf`'s
 * optionalDependencies: Linux on arm64 is `linux-aarch64`).
 *
 * @returns the package, or null where buf publishes none
 */
export function bufPackage(
  os: typeof Deno.build.os = Deno.build.os,
  arch: typeof Deno.build.arch = Deno.build.arch,
): BufPackage | null {
  const platform = ({
    "linux x86_64": "linux-x64",
    "linux aarch64": "linux-aarch64",
    "darwin x86_64": "darwin-x64",
    "darwin aarch64": "darwin-arm64",
    "windows x86_64": "win32-x64",
    "windows aarch64": "win32-arm64",
  } as Record<string, string>)[`${os} ${arch}`];
  if (platform === undefined) return null;
  return {
    name: `@bufbuild/buf-${platform}`,
    bin: os === "windows" ? "bin/buf.exe" : "bin/buf",
  };
}

/** Where to look, for tests: the toolchain directory and the environment. */
export interface ToolchainOptions {
  /** Default {@linkcode TOOLCHAIN_DIR}. */
  toolchainDir?: URL;
  /** Default `Deno.env.get`. */
  env?: (name: string) => string | undefined;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** One buf path per toolchain directory and process: `deno info` runs once. */
const found = new Map<string, Promise<string>>();

/**
 * The buf binary: `$CORTEX_BUF_BIN`, else the toolchain's, else the one in
 * Deno's npm cache (fetched there on first use).
 *
 * @returns an absolute path
 * @throws {GrpcConfigError} naming what is missing and how to get it
 */
export async function bufBinary(opts: ToolchainOptions = {}): Promise<string> {
  const override = (opts.env ?? Deno.env.get)("CORTEX_BUF_BIN");
  if (override) return override;
  const pkg = bufPackage();
  if (pkg === null) {
    throw new GrpcConfigError(
      `Cannot run buf: there is no npm package of buf ${BUF_VERSION} for ${Deno.build.os} on ${Deno.build.arch}; install buf ${BUF_VERSION} and set CORTEX_BUF_BIN to its path`,
    );
  }
  const dir = opts.toolchainDir ?? TOOLCHAIN_DIR;
  const local = fileURLToPath(new URL(`${pkg.name}/${pkg.bin}`, dir));
  if (await isFile(local)) return local;
  let path = found.get(dir.href);
  if (path === undefined) {
    path = fromDenoNpmCache(pkg, fileURLToPath(dir).replace(/\/$/, ""));
    found.set(dir.href, path);
    path.catch(() => found.delete(dir.href));
  }
  return await path;
}

/** `deno info --json` of an npm package: its directory in Deno's npm cache. */
async function fromDenoNpmCache(
  pkg: BufPackage,
  toolchain: string,
): Promise<string> {
  const spec = `npm:${pkg.name}@${BUF_VERSION}`;
  const fix =
    `let Deno reach the npm registry (or set NPM_CONFIG_REGISTRY), install the toolchain with ./deno (needs npm), or set CORTEX_BUF_BIN to a buf ${BUF_VERSION} binary`;
  const missing =
    `Cannot run buf ${BUF_VERSION}: the toolchain "${toolchain}" is not installed and`;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--no-config", "--no-lock", spec],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    throw new GrpcConfigError(
      `${missing} "${Deno.execPath()} info ${spec}" cannot run (${
        (err as Error).message
      }); grant --allow-run, or ${fix}`,
    );
  }
  let dir: unknown;
  // A package that cannot be fetched is reported in the JSON (exit code 0).
  let error: unknown;
  try {
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    dir = info?.npmPackages?.[`${pkg.name}@${BUF_VERSION}`]?.localPath;
    error = info?.modules?.find((m: { error?: unknown }) => m?.error)?.error;
  } catch {
    // No JSON: the reason is on stderr.
  }
  if (typeof dir !== "string") {
    const reason = typeof error === "string" ? error : new TextDecoder()
      .decode(out.stderr).split("\n").filter((l) =>
        l.trim() && !l.startsWith("Download ")
      ).pop() ?? `exit code ${out.code}, no package directory in its output`;
    throw new GrpcConfigError(
      `${missing} Deno could not fetch ${spec}: ${reason}; ${fix}`,
    );
  }
  const bin = `${dir}/${pkg.bin}`;
  if (!(await isFile(bin))) {
    throw new GrpcConfigError(
      `${missing} Deno's npm cache has ${spec} without "${pkg.bin}" (in "${dir}"); remove that directory and try again, or ${fix}`,
    );
  }
  return bin;
}

/**
 * The protoc-gen-es plugin as a command line, for a `buf generate`
 * template's `local`: `$CORTEX_PROTOC_GEN_ES`, else the toolchain's (a
 * Node.js script), else `deno run` of the npm package (Deno fetches it on
 * first use; TypeScript, which it loads, reads environment variables).
 *
 * @returns the program and its arguments
 */
export async function protocGenEsCommand(
  opts: ToolchainOptions = {},
): Promise<string[]> {
  const override = (opts.env ?? Deno.env.get)("CORTEX_PROTOC_GEN_ES");
  if (override) return [override];
  const local = fileURLToPath(
    new URL(".bin/protoc-gen-es", opts.toolchainDir ?? TOOLCHAIN_DIR),
  );
  if (await isFile(local)) return [local];
  return [
    Deno.execPath(),
    "run",
    "--no-config",
    "--no-lock",
    "--quiet",
    "--no-prompt",
    "--allow-env",
    `npm:@bufbuild/protoc-gen-es@${PROTOC_GEN_ES_VERSION}`,
  ];
}
