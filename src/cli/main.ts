/**
 * Dispatches `cortex <command>` and maps typed errors to exit codes.
 *
 * @module
 */

import { EXIT } from "../wire/exit_codes.ts";
import { ConfigError } from "../config/config_error.ts";
import { loadProject } from "../config/load_project.ts";
import { ownPorts } from "../config/net_rules.ts";
import { supervise } from "../supervisor/supervise.ts";
import type { SpeculativeStart } from "../supervisor/speculative_start.ts";
import { userDirectory } from "./user_directory.ts";
import {
  parseServeArgs,
  serveOptions,
  UsageError,
} from "../wire/serve_options.ts";

/** The full help; it names every command, so it loads their modules. */
async function help(): Promise<string> {
  const { CONTROL_SUMMARY } = await import("./control_commands.ts");
  const { DEPLOY_HELP } = await import("./deploy_commands.ts");
  return `cortex: serve realtime APIs written as TypeScript Handler classes

Usage: cortex <command> [options]

Commands:
  serve <project>      Serve a project (HTTP on --port, gRPC on --grpc-port)
  validate <project>   Check cortex.yaml and print every error
  gen <project>        Write typed message code for the project's .proto files
${DEPLOY_HELP}
${CONTROL_SUMMARY}
  help                 Show this help

Run "cortex <command> --help" for a command's options.`;
}

const SERVE_HELP = `Usage: cortex serve <project> [options]

Options:
  --port N                  HTTP port (default 8888)
  --grpc-port N             gRPC port (default 9000)
  --host H                  Address to listen on (default 0.0.0.0)
  --log-level L             Runtime log level: debug|info|warning|error (default info)
  --log-format F            json (default) or pretty
  --no-access-log           Do not log one line per request
  --max-replicas-per-api N  Local cap on replicas of each API (default 2 x cores)
  --max-connections N       Open HTTP connections per listening process; more are
                            closed at once (default: 3/4 of the descriptor limit)
  --header-timeout D        Time a new connection has to send its request headers
                            (default 10s)
  --idle-timeout D          Time a kept-alive connection may wait for its next
                            request (default 60s)
  --api NAME                Serve only this API (default: all; env CORTEX_API)
  --control-port N          Loopback port of the control API (default: any free port)
  --allow-loopback-net      Let handler.allow_net name loopback addresses
                            (e.g. "localhost:5432"); the server's own ports
                            are never granted
  --watch                   Reload handlers when project files change
  --no-check                Do not type-check handlers at start (by default
                            they are, as cortex compile does: with the
                            "compilerOptions" of the project's deno.json)`;

function write(text: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
}

function writeErr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text + "\n"));
}

/** Set by {@linkcode runCli}: this start's early part (cli.ts). */
let early: SpeculativeStart | undefined;

async function serve(args: string[]): Promise<number> {
  const { values, positionals } = parseServeArgs(args);
  if (values.help) {
    write(SERVE_HELP);
    return EXIT.ok;
  }
  const dir = positionals[0];
  if (!dir) {
    throw new UsageError(
      "Missing project directory: usage: cortex serve <project>",
    );
  }
  const opts = serveOptions(values);
  const project = await loadProject(dir, {
    net: {
      allowLoopback: opts.allowLoopbackNet,
      ownPorts: ownPorts({
        http: opts.port,
        grpc: opts.grpcPort,
        control: opts.controlPort,
      }),
    },
  });
  const { serverOnPort } = await import("../supervisor/port_guard.ts");
  const holder = await serverOnPort(opts.port);
  if (holder !== null) {
    throw new UsageError(
      `Port ${opts.port} is already served by cortex (process ${holder}): stop it, or pass --port`,
    );
  }
  return await supervise(project, opts, values, early);
}

async function validate(args: string[]): Promise<number> {
  const dir = args.find((a) => !a.startsWith("-"));
  if (args.includes("--help") || args.includes("-h")) {
    write(
      "Usage: cortex validate <project>\n\nChecks cortex.yaml and the project files; prints every error.",
    );
    return EXIT.ok;
  }
  if (!dir) {
    throw new UsageError(
      "Missing project directory: usage: cortex validate <project>",
    );
  }
  const project = await loadProject(dir);
  for (const api of project.apis) {
    const kind = api.handler.protobufPath ? "grpc" : "http";
    write(
      `${api.name}: ${kind} ${api.networking.endpoint} (handler ${api.handler.path})`,
    );
  }
  write(`${project.configPath}: ${project.apis.length} API(s) valid`);
  return EXIT.ok;
}

async function gen(args: string[]): Promise<number> {
  const dir = args.find((a) => !a.startsWith("-"));
  if (args.includes("--help") || args.includes("-h")) {
    write(
      "Usage: cortex gen <project>\n\nWrites typed message code (protoc-gen-es) for each gRPC API's .proto into <project>/gen/.",
    );
    return EXIT.ok;
  }
  if (!dir) {
    throw new UsageError(
      "Missing project directory: usage: cortex gen <project>",
    );
  }
  const project = await loadProject(dir);
  const protos = [...new Set(project.apis.map((a) => a.handler.protobufPath))]
    .filter((p): p is string => p !== null);
  if (protos.length === 0) {
    writeErr(`No API in ${project.configPath} has handler.protobuf_path`);
    return EXIT.failure;
  }
  const { generateTypes } = await import("../grpc/build/generate.ts");
  for (const proto of protos) {
    for (const file of await generateTypes(project.dir, proto)) {
      write(`wrote ${file}`);
    }
  }
  return EXIT.ok;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  serve,
  validate,
  gen,
};

/**
 * Commands whose modules load only when used: `cortex serve` starts faster
 * without the control client, the compiler and the manifest writers.
 */
const LAZY_COMMANDS: Record<
  string,
  () => Promise<Record<string, (args: string[]) => Promise<number>>>
> = {
  deploy: controlCommands,
  get: controlCommands,
  list: controlCommands,
  refresh: controlCommands,
  patch: controlCommands,
  delete: controlCommands,
  logs: controlCommands,
  call: controlCommands,
  compile: deployCommands,
  dockerfile: deployCommands,
  export: deployCommands,
};

async function controlCommands() {
  return (await import("./control_commands.ts")).CONTROL_COMMANDS;
}

async function deployCommands() {
  return (await import("./deploy_commands.ts")).DEPLOY_COMMANDS;
}

/**
 * Runs the CLI; returns the exit code. `start` is what `serve` began before
 * the CLI loaded: its scratch root and the serving process started ahead.
 */
export async function runCli(
  args: string[],
  start?: SpeculativeStart,
): Promise<number> {
  early = start;
  try {
    Deno.chdir(userDirectory());
  } catch {
    // No read permission for it: stay where we are.
  }
  const [command, ...rest] = args;
  if (
    !command || command === "help" || command === "--help" || command === "-h"
  ) {
    write(await help());
    return command ? EXIT.ok : EXIT.usage;
  }
  const run = COMMANDS[command] ??
    (await LAZY_COMMANDS[command]?.())?.[command];
  if (!run) {
    writeErr(`Unknown command "${command}"\n\n${await help()}`);
    return EXIT.usage;
  }
  try {
    return await run(rest);
  } catch (error) {
    if (error instanceof ConfigError) {
      writeErr(error.message);
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      writeErr(`Error: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof Deno.errors.NotFound) {
      writeErr(`Error: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
}
