/**
 * Entry point of the serving process that `cortex serve` supervises. It runs
 * with the narrow flags of src/supervisor/flags.ts.
 *
 * Usage: serve_main.ts <project> [serve flags] [--descriptors FILE]
 * [--grpc-socket PATH [--grpc-socket-bind PATH]] [--replica-socket PATH]
 * [--replace-request FILE]: with a gRPC socket, gRPC runs in the gRPC process
 * (src/grpc_process/main.ts), which connects to it; replica processes connect
 * to the replica socket; the replace-request file is where the supervisor
 * watches for a request to replace this process (src/supervisor/
 * replace_request.ts; this process only names it).
 *
 * With a known HTTP port and a replica socket, the first replica of each API
 * is started before the rest of the server loads (src/server/
 * replica_prestart.ts): only light modules are imported statically here.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Project } from "../config/types.ts";
import { readPackageDirs } from "../supervisor/modules.ts";
import { SERVE_FLAGS, serveOptions } from "../cli/serve_options.ts";
import { PrestartedReplicas } from "./replica_prestart.ts";
import { servingTraceConfig } from "../trace/config.ts";

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

/**
 * Reads the file `--models-file` names ({} when absent): here, not in
 * model_cache.ts, which loads node:crypto and the config parser.
 */
async function readModelFiles(
  path: string | undefined,
): Promise<Record<string, string>> {
  if (path === undefined) return {};
  return JSON.parse(await Deno.readTextFile(path));
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: {
    ...SERVE_FLAGS,
    descriptors: { type: "string" },
    "control-report": { type: "string" },
    "scratch-root": { type: "string" },
    "replica-socket": { type: "string" },
    "import-map-file": { type: "string" },
    "lock-file": { type: "string" },
    "packages-file": { type: "string" },
    "models-file": { type: "string" },
    "grpc-socket": { type: "string" },
    "grpc-socket-bind": { type: "string" },
    "replace-request": { type: "string" },
    "project-json": { type: "string" },
    "fd-limit": { type: "string" },
  },
  allowPositionals: true,
});
const project = await readProject(positionals[0]!, values["project-json"]);
// descriptors.ts loads the proto toolchain: only for a project with gRPC.
const descriptors = values.descriptors
  ? (await import("../supervisor/descriptors.ts")).decodeDescriptors(
    await Deno.readTextFile(values.descriptors),
  )
  : undefined;
const options = serveOptions(
  values,
  values["fd-limit"] ? Number(values["fd-limit"]) || null : null,
);
const modules = values["import-map-file"] && values["lock-file"]
  ? {
    importMap: values["import-map-file"],
    lock: values["lock-file"],
    packages: await readPackageDirs(values["packages-file"]),
  }
  : undefined;
const modelFiles = await readModelFiles(values["models-file"]);
const prestarted = values["replica-socket"] && values["scratch-root"] &&
    options.port !== 0 && modules
  ? PrestartedReplicas.start(project, {
    ...options,
    scratchRoot: values["scratch-root"],
    replicaSocket: values["replica-socket"],
    modules,
    modelFiles,
  })
  : undefined;
const { runServer } = await import("./run.ts");
Deno.exit(
  await runServer(project, {
    ...options,
    descriptors,
    controlReport: values["control-report"],
    scratchRoot: values["scratch-root"],
    replicaSocket: values["replica-socket"],
    prestarted,
    modules,
    modelFiles,
    supervised: true,
    tracing: servingTraceConfig(),
    ...(values["grpc-socket"]
      ? {
        grpc: "bridge" as const,
        grpcSocket: values["grpc-socket"],
        grpcSocketBind: values["grpc-socket-bind"],
      }
      : {}),
  }),
);
