/**
 * The serving process's command line (src/server/serve_main.ts), written by
 * the supervisor (src/supervisor/supervise.ts): the project, the user's
 * serve flags, and where the supervisor put what it prepared (the module
 * graph, models, descriptors) and where it expects the process's reports.
 *
 * @module
 */

import {
  type ArgvCodec,
  integerFlag,
  optionalFlag,
  parseFlags,
  requiredFlag,
} from "./argv.ts";
import {
  SERVE_FLAGS,
  serveFlagsToArgv,
  type ServeFlagValues,
  UsageError,
} from "./serve_options.ts";

/** Everything the supervisor tells one serving process. */
export interface ServeProcessArgs {
  /** The project directory. */
  projectDir: string;
  /** The user's serve flags (`--port` is the bound port on restarts). */
  flags: ServeFlagValues;
  /** The project as the supervisor validated it (first start only). */
  projectJson?: string;
  /** The serving process's descriptor limit, when the supervisor knows it. */
  fdLimit?: number;
  /** The generation's scratch directory for replicas. */
  scratchRoot: string;
  /** Where replica processes connect (`unix:` path). */
  replicaSocket: string;
  /** The prepared module graph: import map, lockfile, npm package dirs. */
  modules: { importMap: string; lock: string; packagesFile?: string };
  /** JSON map of `handler.models` URLs to their downloaded files. */
  modelsFile: string;
  /** Where the process reports its control and HTTP ports. */
  controlReport: string;
  /** Where the process asks to be replaced (src/wire/replace_request.ts). */
  replaceRequest: string;
  /**
   * Its prestarted replicas' commands (src/wire/prestart_launches.ts): read
   * at start when the supervisor wrote it, then written with the commands
   * this process computed.
   */
  prestartFile?: string;
  /** gRPC runs in the gRPC process, which connects to `socket`. */
  grpc?: {
    /** The compiled descriptors (src/wire/descriptors.ts). */
    descriptors: string;
    /** The path the gRPC process connects to. */
    socket: string;
    /** The path this process binds before renaming it to `socket`. */
    socketBind: string;
  };
}

const WHAT = "serving process";

const OWN_FLAGS = {
  "project-json": { type: "string" },
  "fd-limit": { type: "string" },
  "scratch-root": { type: "string" },
  "replica-socket": { type: "string" },
  "import-map-file": { type: "string" },
  "lock-file": { type: "string" },
  "packages-file": { type: "string" },
  "models-file": { type: "string" },
  "control-report": { type: "string" },
  "replace-request": { type: "string" },
  "prestart-file": { type: "string" },
  descriptors: { type: "string" },
  "grpc-socket": { type: "string" },
  "grpc-socket-bind": { type: "string" },
} as const;

/** The serving process's command line, both ways. */
export const serveProcessArgv: ArgvCodec<ServeProcessArgs> = {
  toArgv: (a) => [
    a.projectDir,
    ...serveFlagsToArgv(a.flags),
    ...optionalFlag("project-json", a.projectJson),
    ...optionalFlag("fd-limit", a.fdLimit),
    ...optionalFlag("scratch-root", a.scratchRoot),
    ...optionalFlag("replica-socket", a.replicaSocket),
    ...optionalFlag("import-map-file", a.modules.importMap),
    ...optionalFlag("lock-file", a.modules.lock),
    ...optionalFlag("packages-file", a.modules.packagesFile),
    ...optionalFlag("models-file", a.modelsFile),
    ...optionalFlag("control-report", a.controlReport),
    ...optionalFlag("replace-request", a.replaceRequest),
    ...optionalFlag("prestart-file", a.prestartFile),
    ...optionalFlag("descriptors", a.grpc?.descriptors),
    ...optionalFlag("grpc-socket", a.grpc?.socket),
    ...optionalFlag("grpc-socket-bind", a.grpc?.socketBind),
  ],
  parseArgv: (argv) => {
    const { values, positionals } = parseFlags(WHAT, argv, {
      ...SERVE_FLAGS,
      ...OWN_FLAGS,
    });
    if (positionals.length !== 1) {
      throw new UsageError(
        `${WHAT}: expected one project directory, got ${positionals.length}`,
      );
    }
    const flags: Record<string, string | boolean | undefined> = {};
    for (const flag of Object.keys(SERVE_FLAGS)) {
      if (values[flag] !== undefined) flags[flag] = values[flag];
    }
    const need = (flag: keyof typeof OWN_FLAGS) =>
      requiredFlag(WHAT, values, flag);
    const maybe = (flag: keyof typeof OWN_FLAGS) =>
      values[flag] as string | undefined;
    const grpcSocket = maybe("grpc-socket");
    const fdLimit = maybe("fd-limit");
    return {
      projectDir: positionals[0]!,
      flags: flags as ServeFlagValues,
      ...(maybe("project-json") ? { projectJson: need("project-json") } : {}),
      ...(fdLimit !== undefined
        ? { fdLimit: integerFlag(WHAT, "fd-limit", fdLimit) }
        : {}),
      scratchRoot: need("scratch-root"),
      replicaSocket: need("replica-socket"),
      modules: {
        importMap: need("import-map-file"),
        lock: need("lock-file"),
        ...(maybe("packages-file")
          ? { packagesFile: need("packages-file") }
          : {}),
      },
      modelsFile: need("models-file"),
      controlReport: need("control-report"),
      replaceRequest: need("replace-request"),
      ...(maybe("prestart-file")
        ? { prestartFile: need("prestart-file") }
        : {}),
      ...(grpcSocket !== undefined
        ? {
          grpc: {
            descriptors: need("descriptors"),
            socket: grpcSocket,
            socketBind: need("grpc-socket-bind"),
          },
        }
        : {}),
    };
  },
};
