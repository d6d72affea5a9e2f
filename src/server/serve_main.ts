/**
 * Entry point of the serving process that `cortex serve` supervises. It runs
 * with the narrow flags of src/supervisor/flags.ts.
 *
 * Its command line is {@linkcode ServeProcessArgs}
 * (src/wire/serve_process_args.ts): with a gRPC socket, gRPC runs in the
 * gRPC process (src/grpc_process/main.ts), which connects to it; replica
 * processes connect to the replica socket; the replace-request file is
 * where the supervisor watches for a request to replace this process
 * (src/wire/replace_request.ts; this process only names it).
 *
 * It does nothing observable (reads no project file, binds no port, prints
 * nothing) until the supervisor's "go" on stdin, which carries the control
 * token (src/wire/stdin_commands.ts): the supervisor may have started it
 * ahead from the last start's command line and keeps it only if that is
 * this start's (src/supervisor/speculative_start.ts). Until then it loads
 * its modules and, when the supervisor wrote a prestart file from the last
 * start's record, starts those replicas, which wait for their `init` on the
 * replica socket in the scratch directory (src/server/replica_prestart.ts).
 *
 * With a known HTTP port, the first replica of each API is started before
 * the rest of the server has loaded (src/server/replica_prestart.ts): only
 * light modules are imported statically here.
 *
 * @module
 */

import type { Project } from "../config/resolved_config.ts";
import { readModelFiles, readPackageDirs } from "../wire/prepared_files.ts";
import { serveOptions } from "../wire/serve_options.ts";
import {
  type ServeProcessArgs,
  serveProcessArgv,
} from "../wire/serve_process_args.ts";
import { PrestartedReplicas } from "./replica_prestart.ts";
import { servingTraceConfig } from "../trace/config.ts";
import { CommandReader } from "../wire/stdin_commands.ts";
import { EXIT } from "../wire/exit_codes.ts";

/**
 * The project as the supervisor validated it (first start: used once, then
 * deleted), else loaded from disk (restarts: the files may have changed).
 */
async function readProject(dir: string, snapshot?: string): Promise<Project> {
  if (snapshot) {
    try {
      const project = JSON.parse(await Deno.readTextFile(snapshot)) as Project;
      await Deno.remove(snapshot).catch(() => {});
      return project;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  const { loadProject } = await import("../config/load_project.ts");
  return await loadProject(dir);
}

const args: ServeProcessArgs = serveProcessArgv.parseArgv(Deno.args);
const commands = new CommandReader();
let ahead: PrestartedReplicas | null = null;
try {
  ahead = args.prestartFile
    ? PrestartedReplicas.ahead(args.prestartFile, args)
    : null;
} catch {
  // No head start (e.g. the socket cannot be bound): started after "go".
}
// The rest of the server loads after the first replicas started (below):
// loading it before "go" would hold "go" up (a module load keeps the event
// loop), and the supervisor's "go" comes about when the light part loaded.
const controlToken = await commands.go;
// Not kept (another command line was this start's), or the supervisor is
// gone or stopping: nothing was done, nothing to undo.
if (controlToken === null) {
  ahead?.discard();
  Deno.exit(EXIT.ok);
}
const project = await readProject(args.projectDir, args.projectJson);
// descriptors.ts loads the proto toolchain: only for a project with gRPC.
const descriptors = args.grpc
  ? (await import("../wire/descriptors.ts")).decodeDescriptors(
    await Deno.readTextFile(args.grpc.descriptors),
  )
  : undefined;
const options = serveOptions(args.flags, args.fdLimit ?? null);
const modules = {
  importMap: args.modules.importMap,
  lock: args.modules.lock,
  packages: await readPackageDirs(args.modules.packagesFile),
};
const modelFiles = await readModelFiles(args.modelsFile);
const prestarted = options.port !== 0
  ? PrestartedReplicas.start(project, {
    ...options,
    scratchRoot: args.scratchRoot,
    replicaSocket: args.replicaSocket,
    modules,
    modelFiles,
    prestartFile: args.prestartFile,
  }, ahead)
  : undefined;
if (options.port === 0 && ahead) {
  // (Not recorded with --port 0; the server opens the socket itself.)
  ahead.discard();
  ahead.socket.close();
}
const { runServer } = await import("./run.ts");
Deno.exit(
  await runServer(project, {
    ...options,
    descriptors,
    controlReport: args.controlReport,
    scratchRoot: args.scratchRoot,
    replicaSocket: args.replicaSocket,
    prestarted,
    modules,
    modelFiles,
    supervised: { commands, controlToken },
    tracing: servingTraceConfig(),
    ...(args.grpc
      ? {
        grpc: "bridge" as const,
        grpcSocket: args.grpc.socket,
        grpcSocketBind: args.grpc.socketBind,
      }
      : {}),
  }),
);
