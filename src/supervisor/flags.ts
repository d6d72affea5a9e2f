/**
 * The exact Deno flags of the serving process: the narrowest set that lets it
 * load the project, listen, run replicas and reach what handlers may reach.
 * `cortex serve` uses them for its child process and `cortex compile` bakes
 * them into the binary. Also the flags of the gRPC process.
 *
 * @module
 */

import type { Project } from "../config/resolved_config.ts";
import { netEntryProblem, ownPorts } from "../config/net_rules.ts";
import { TRACE_ENV, TRACES_ENV } from "../trace/config.ts";
import { RAW_IMPORTS_FLAG } from "../wire/prepared_files.ts";

/**
 * Unstable features the runtime needs (reusePort), and raw imports for
 * handlers (a compiled binary's replicas are the binary itself).
 */
export const UNSTABLE_FLAGS = [
  "--unstable-net",
  "--unstable-no-legacy-abort",
  RAW_IMPORTS_FLAG,
];

/** Read by @grpc/grpc-js when it loads and when servers start. */
export const GRPC_ENV = [
  "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
  "GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION",
  "GRPC_NODE_DEBUG_SEND_ERROR_DETAILS",
  "GRPC_NODE_TRACE",
  "GRPC_NODE_USE_ALTERNATIVE_RESOLVER",
  "GRPC_NODE_VERBOSITY",
  "GRPC_SSL_CIPHER_SUITES",
  "GRPC_TRACE",
  "GRPC_VERBOSITY",
  "grpc_proxy",
  "http_proxy",
  "https_proxy",
  "no_grpc_proxy",
  "no_proxy",
];

/** Environment variables the serving process reads. */
export const SERVER_ENV = [
  "CORTEX_API",
  // Keys that /metrics requires, when set (src/server/main_router.ts).
  "CORTEX_METRICS_KEYS",
  "CORTEX_CONTROL_TOKEN",
  "NO_COLOR",
  // grpc-js runs in the serving process of a compiled binary.
  ...GRPC_ENV,
  // Tracing (src/trace/config.ts): on, and where spans go.
  TRACES_ENV,
  ...TRACE_ENV,
];

/** Environment variables the gRPC process reads. */
export const GRPC_PROCESS_ENV = ["NO_COLOR", ...GRPC_ENV];

/**
 * The runtime's own modules: Worker scripts, and the modules workers load,
 * must be readable by the serving process.
 */
export const RUNTIME_PATHS = [
  new URL("../", import.meta.url).pathname.replace(/\/$/, ""),
  new URL("../../mod.ts", import.meta.url).pathname,
];

/** Where and how the serving process listens. */
export interface ListenSpec {
  hostname: string;
  port: number;
  grpcPort: number;
  /** Loopback port of the control API (0: chosen at run time), or null when none runs. */
  controlPort: number | null;
  /**
   * `--allow-loopback-net`: loopback entries of `handler.allow_net` are
   * granted (the server's own ports never are).
   */
  allowLoopbackNet?: boolean;
  /**
   * The gRPC bridge's Unix socket when the gRPC process serves gRPC: the
   * serving process then listens on the socket instead of the gRPC port.
   */
  grpcSocket?: string;
  /**
   * Where the serving process binds the bridge socket before renaming it to
   * `grpcSocket` (one path per serving process: see GrpcBridgeServer).
   */
  grpcSocketBind?: string;
  /** The Unix socket replica processes connect to (the serving process binds it). */
  replicaSocket?: string;
}

function hostPort(hostname: string, port: number): string {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  // Port 0 binds a port chosen at run time, so the grant covers the host.
  return port === 0 ? host : `${host}:${port}`;
}

/**
 * Net grants: listening addresses, the control API and handler allow-lists.
 * The gRPC port only when the project has a gRPC API. The control API's
 * grant is its exact address; with port 0 that is `127.0.0.1:0`, which
 * lets the process bind a free port and connect to nothing on loopback. `allow_net` entries that break the rules of
 * src/config/net_rules.ts (loopback without `allowLoopbackNet`, the
 * server's own ports) are left out: the supervisor refuses such a project
 * before starting, and replicas are refused them again.
 */
export function netGrants(project: Project, listen: ListenSpec): string[] {
  const grants = new Set<string>([hostPort(listen.hostname, listen.port)]);
  // An HTTP-only project never listens on the gRPC port (a gRPC API cannot
  // be deployed into it later either).
  if (listen.grpcSocket !== undefined) grants.add(`unix:${listen.grpcSocket}`);
  else if (project.apis.some((a) => a.handler.protobufPath !== null)) {
    grants.add(hostPort(listen.hostname, listen.grpcPort));
  }
  if (listen.grpcSocket !== undefined && listen.grpcSocketBind !== undefined) {
    grants.add(`unix:${listen.grpcSocketBind}`);
  }
  if (listen.controlPort !== null) {
    grants.add(`127.0.0.1:${listen.controlPort}`);
  }
  if (listen.replicaSocket !== undefined) {
    grants.add(`unix:${listen.replicaSocket}`);
  }
  const rules = {
    allowLoopback: listen.allowLoopbackNet ?? false,
    ownPorts: ownPorts({
      http: listen.port,
      grpc: listen.grpcPort,
      control: listen.controlPort,
    }),
  };
  for (const api of project.apis) {
    for (const host of api.handler.allowNet) {
      if (netEntryProblem(host, rules) === null) grants.add(host);
    }
  }
  return [...grants];
}

/**
 * Permission flags of the serving process. Read: the project directory and
 * the scratch root and the runtime's own modules. Write: the scratch root.
 * Net: see {@linkcode netGrants}, and `extraNet` (the trace collector's
 * address when tracing is on). Env: {@linkcode SERVER_ENV}. Run: only the
 * Deno executable, to start replica processes (each with narrower flags).
 * No ffi or sys: protos are compiled before the server starts.
 */
export function serverPermissionFlags(
  project: Project,
  listen: ListenSpec,
  scratchRoot: string,
  extraRead: string[] = [],
  extraNet: string[] = [],
): string[] {
  return [
    `--allow-read=${
      [project.dir, scratchRoot, ...RUNTIME_PATHS, ...extraRead].join(",")
    }`,
    `--allow-write=${scratchRoot}`,
    `--allow-net=${[...netGrants(project, listen), ...extraNet].join(",")}`,
    `--allow-env=${[...SERVER_ENV, ...keysEnvNames(project)].join(",")}`,
    `--allow-run=${Deno.execPath()}`,
    "--no-prompt",
  ];
}

/**
 * The variables that hold API keys (`networking.auth.keys_env`): the serving
 * process reads them and hands replicas only hashes.
 */
export function keysEnvNames(project: Project): string[] {
  const names = project.apis.flatMap((a) => a.networking.auth?.keysEnv ?? []);
  return [...new Set(names)].sort();
}

/**
 * Permission flags of the gRPC process. Read: the scratch root (the bridge
 * socket and the descriptors file) and the runtime's modules. Write: the
 * socket (connecting to a Unix socket needs read, write and `unix:` net
 * access to its path in Deno). Net: the gRPC address and the socket. Env:
 * {@linkcode GRPC_PROCESS_ENV}. No run, ffi or sys.
 */
export function grpcProcessPermissionFlags(
  listen: Pick<ListenSpec, "hostname" | "grpcPort">,
  scratchRoot: string,
  socket: string,
): string[] {
  return [
    `--allow-read=${[scratchRoot, ...RUNTIME_PATHS].join(",")}`,
    `--allow-write=${socket}`,
    `--allow-net=${hostPort(listen.hostname, listen.grpcPort)},unix:${socket}`,
    `--allow-env=${GRPC_PROCESS_ENV.join(",")}`,
    "--no-prompt",
  ];
}
