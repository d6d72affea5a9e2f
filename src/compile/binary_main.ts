/**
 * What a compiled binary runs: `./api [--port N] [--grpc-port N] [--host H]`
 * serves the embedded project exactly like `cortex serve` (without the
 * supervisor and the control API), `--print-permissions` prints the flags
 * it carries and `--healthcheck` checks a running server's `/healthz`.
 *
 * The generated entry (see entry_source.ts) calls {@linkcode runBinary}; the
 * same code runs under `deno run` of the entry and inside the binary.
 *
 * @module
 */

import { EXIT } from "../wire/exit_codes.ts";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { Project } from "../config/resolved_config.ts";
import {
  SERVE_FLAGS,
  serveOptions,
  UsageError,
} from "../wire/serve_options.ts";
import { runServer } from "../server/run.ts";
import { servingTraceConfig } from "../trace/config.ts";
import { decodeDescriptors } from "../wire/descriptors.ts";
import type { EmbeddedBuild } from "./entry_source.ts";
import { healthcheck, healthzUrl } from "./healthcheck.ts";
import { runReplicaProcess } from "../replica/process_main.ts";
import type { ReplicaInit } from "../wire/replica_messages.ts";
import {
  BINARY_REPLICA_ROLE,
  replicaProcessArgv,
} from "../wire/replica_process_args.ts";

/**
 * A replica process of a binary starts with the binary's permissions: it
 * gives up running programs, the environment, and every network grant that
 * is not its API's own `allow_net` before its handler loads. (Its listening
 * address is given up by the runtime right after it binds.)
 */
export function narrowBinaryReplica(
  build: EmbeddedBuild,
): (init: ReplicaInit) => void {
  return (init) => {
    Deno.permissions.revokeSync({ name: "run" });
    Deno.permissions.revokeSync({ name: "env" });
    const baked = build.permissions.find((f) => f.startsWith("--allow-net="))
      ?.slice("--allow-net=".length).split(",") ?? [];
    const keep = new Set(init.api.handler.allowNet);
    const listen = init.listen?.hostname;
    for (const host of baked) {
      if (!keep.has(host) && host !== listen) {
        Deno.permissions.revokeSync({ name: "net", host });
      }
    }
  };
}

/** `parseArgs` table of a binary's flags. */
export const BINARY_FLAGS = {
  ...SERVE_FLAGS,
  "print-permissions": { type: "boolean" },
  healthcheck: { type: "boolean" },
} as const;

function usage(name: string): string {
  return `Usage: ${name} [options]

Serves the APIs compiled into this binary.

Options:
  --port N                  HTTP port (default 8888)
  --grpc-port N             gRPC port (default 9000)
  --host H                  Address to listen on (default from cortex compile --host)
  --api NAME                Serve only this API (default: all; env CORTEX_API)
  --log-level L             debug|info|warning|error (default info)
  --log-format F            json (default) or pretty
  --no-access-log           Do not log one line per request
  --max-replicas-per-api N  Cap on replicas of each API (default 2 x cores)
  --max-connections N       Open HTTP connections per listening process; more are
                            closed at once (default: 3/4 of the descriptor limit)
  --header-timeout D        Time a new connection has to send its request headers
                            (default 10s)
  --idle-timeout D          Time a kept-alive connection may wait for its next
                            request (default 60s)
  --allow-loopback-net      Grant loopback entries of handler.allow_net
                            (the server's own ports are never granted)
  --print-permissions       Print the Deno permission flags this binary carries
  --healthcheck             Exit 0 when GET /healthz on --port answers 200, else 1`;
}

function print(
  text: string,
  stream: { writeSync(p: Uint8Array): number },
): void {
  stream.writeSync(new TextEncoder().encode(text + "\n"));
}

/** The project as the server receives it, rooted at the embedded copy. */
export function embeddedProject(
  build: EmbeddedBuild,
  projectDir: URL,
): Project {
  const dir = fileURLToPath(projectDir).replace(/\/+$/, "");
  return {
    dir,
    configPath: `${dir}/cortex.yaml`,
    apis: build.apis,
    files: build.files,
    dotenv: build.dotenv,
  };
}

/**
 * Inside a binary the project is in the embedded file system, where Deno
 * cannot move the working directory: newer versions make `chdir` a no-op,
 * older ones throw NotSupported. Relative paths of handlers are handled by
 * the wrappers (relative_paths.ts), so the server's `chdir` may be skipped.
 */
function tolerateEmbeddedChdir(dir: string): void {
  try {
    Deno.chdir(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotSupported)) throw error;
    const chdir = Deno.chdir;
    Deno.chdir = (target: string | URL) => {
      if (String(target) !== dir) chdir(target);
    };
  }
}

/** Fails early when the binary may not listen on `host`. */
function checkListenPermission(build: EmbeddedBuild, host: string): void {
  const state = Deno.permissions.querySync({ name: "net", host }).state;
  if (state === "granted") return;
  const hosts =
    build.permissions.find((f) => f.startsWith("--allow-net="))?.slice(12) ??
      "";
  throw new UsageError(
    `Cannot listen on "${host}": this binary may listen only on ${
      hosts.split(",")[0]
    } and 127.0.0.1; ` +
      `compile with "cortex compile --host ${host}" to allow it`,
  );
}

/**
 * Runs a compiled binary.
 *
 * @param build What the entry embeds.
 * @param projectDir URL of the project copy (in the embedded file system
 *   when compiled), resolved from the entry's `import.meta.url`.
 * @param args The command-line arguments.
 * @returns The exit code: 0 after a clean drain, 2 on bad usage, 3 when no
 *   API could start, 1 when unhealthy.
 */
export async function runBinary(
  build: EmbeddedBuild,
  projectDir: URL,
  args: string[],
): Promise<number> {
  if (args[0] === BINARY_REPLICA_ROLE) {
    const { address, nonce } = replicaProcessArgv.parseArgv(args.slice(1));
    await runReplicaProcess(address, nonce, narrowBinaryReplica(build));
    return EXIT.ok;
  }
  try {
    const { values } = parseArgs({
      args,
      options: BINARY_FLAGS,
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      print(usage(build.name), Deno.stdout);
      return EXIT.ok;
    }
    if (values["print-permissions"]) {
      print(build.permissions.join("\n"), Deno.stdout);
      return EXIT.ok;
    }
    const opts = serveOptions({
      ...values,
      host: values.host ?? build.hostname,
    });
    if (values.healthcheck) {
      return await healthcheck(healthzUrl(opts.hostname, opts.port));
    }
    if (values.watch) {
      throw new UsageError(
        "Option --watch is not available in a compiled binary",
      );
    }
    checkListenPermission(build, opts.hostname);
    const project = embeddedProject(build, projectDir);
    tolerateEmbeddedChdir(project.dir);
    await Deno.mkdir(build.scratchRoot, { recursive: true });
    const scratchRoot = await Deno.makeTempDir({
      dir: build.scratchRoot,
      prefix: "run-",
    });
    const descriptors = decodeDescriptors(build.descriptorsJson);
    return await runServer(project, {
      ...opts,
      descriptors: Object.keys(descriptors).length > 0
        ? descriptors
        : undefined,
      scratchRoot,
      replicaSocket: "loopback",
      // OTEL_DENO=true: spans go to a collector the binary may reach.
      tracing: servingTraceConfig(),
      // The control API (for ctx.client) reports its port here instead of
      // the user's state file, which the binary has no permission to write.
      controlReport: `${scratchRoot}/control.json`,
    });
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as Error)?.name === "TypeError" && isParseError(error)
    ) {
      print(
        `Error: ${
          (error as Error).message
        }\n\nRun "${build.name} --help" for usage.`,
        Deno.stderr,
      );
      return EXIT.usage;
    }
    throw error;
  }
}

/** `parseArgs` throws TypeErrors with ERR_PARSE_ARGS_* codes. */
function isParseError(error: unknown): boolean {
  return String((error as { code?: string }).code ?? "").startsWith(
    "ERR_PARSE_ARGS",
  );
}
