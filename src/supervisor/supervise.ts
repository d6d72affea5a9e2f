/**
 * `cortex serve`: validates the project, compiles its protos, then runs the
 * serving process (HTTP, replicas, control API) and, when the project has
 * gRPC APIs, the gRPC process (grpc-js, bridged to the serving process over
 * a Unix socket), each with narrow permissions, and keeps both up. A crash
 * of either (grpc-js under Deno has died with SIGSEGV and SIGABRT) is logged
 * and that process alone restarted within a second; SIGTERM/SIGINT are
 * passed on as "drain" and the supervisor exits with the serving process's
 * code once both have drained.
 *
 * When a replica's thread is stuck in a synchronous loop, which Deno cannot
 * stop (denoland/deno#35657), the serving process asks to be replaced (a
 * request file in its generation's directory, polled every 250 ms): a new
 * serving process starts alongside on the same ports (reusePort), and once
 * it serves, the old one drains and exits, taking the stuck thread with it.
 * The gRPC process stays connected to the old one until its bridge closes,
 * then reconnects to the same socket path, which the new one has rebound.
 *
 * @module
 */

import {
  exporterGrant,
  type TraceConfig,
  traceConfigFromEnv,
  TRACES_ENV,
} from "../trace/config.ts";
import { filePath as fileURLToPath } from "../path/posix_path.ts";
import { SERVE_MAIN, type SpeculativeStart } from "./speculative_start.ts";
import type { Project } from "../config/resolved_config.ts";
import type { ServeFlagValues, ServeSettings } from "../wire/serve_options.ts";
import { serveProcessArgv } from "../wire/serve_process_args.ts";
import { grpcProcessArgv } from "../wire/grpc_process_args.ts";
import { compileDescriptors, encodeDescriptors } from "../wire/descriptors.ts";
import { probeFdLimit } from "./fd_limit.ts";
import {
  grpcProcessPermissionFlags,
  serverPermissionFlags,
  UNSTABLE_FLAGS,
} from "./flags.ts";
import { moduleFlags } from "../wire/prepared_files.ts";
import { type ModuleFiles, prepareModules } from "./modules.ts";
import { PrepareCache } from "./prepare_cache.ts";
import { spawnDeno, type SpawnedChild, SupervisedChild } from "./child.ts";
import {
  replaceRequestPath,
  watchReplaceRequests,
} from "../wire/replace_request.ts";
import { EXIT, FINAL_EXIT_CODES } from "../wire/exit_codes.ts";
import { goCommand } from "../wire/stdin_commands.ts";
import {
  type ControlReport,
  readControlReport,
} from "../wire/control_report.ts";
import { resolveToken, TOKEN_ENV } from "../control/token.ts";
import {
  removeStateFile,
  stateFilePath,
  writeStateFile,
} from "../control/state_file.ts";

const GRPC_MAIN = fileURLToPath(
  new URL("../grpc_process/main.ts", import.meta.url),
);

function logLine(level: "INFO" | "ERROR", message: string, extra = {}): void {
  const line = JSON.stringify({
    asctime: new Date().toISOString(),
    levelname: level,
    message,
    ...extra,
    labels: { component: "supervisor" },
    process: Deno.pid,
  });
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}

/**
 * Waits for the serving process's control report; null if it exits without
 * one.
 * Polled every 5 ms at first, then less often (up to every 100 ms): it
 * comes ~100 ms after the spawn on a fast start, and the start's record
 * is written once it came (a start stopped at once still leaves one).
 */
async function waitForReport(
  child: SpawnedChild,
  report: string,
): Promise<ControlReport | null> {
  let exited = false;
  child.status.then(() => exited = true);
  let intervalMs = 5;
  while (true) {
    // Read once more after it exited: it may have served (and bound the
    // port its restart must bind) since the last look.
    const last = exited;
    try {
      const read = await readControlReport(report);
      if (read !== null) return read;
    } catch (error) {
      logLine(
        "ERROR",
        `Cannot read the control report: ${(error as Error).message}`,
      );
      return null;
    }
    if (last) return null;
    await new Promise((r) => setTimeout(r, intervalMs));
    intervalMs = Math.min(100, intervalMs * 1.25);
  }
}

/** Writes the state file of `child`; returns its path, or null on failure. */
async function publishState(
  child: SpawnedChild,
  report: ControlReport,
  token: string,
  projectDir: string,
): Promise<string | null> {
  const path = stateFilePath(report.httpPort);
  try {
    await writeStateFile(path, {
      httpPort: report.httpPort,
      controlPort: report.port,
      url: `http://127.0.0.1:${report.port}`,
      token,
      pid: child.pid,
      projectDir,
      startedAt: new Date().toISOString(),
    });
    return path;
  } catch (error) {
    logLine(
      "ERROR",
      `Cannot write the control state file: ${(error as Error).message}`,
    );
    return null;
  }
}

/**
 * Deno's built-in OpenTelemetry stays off in the runtime's children: the
 * serving process exports requests' spans itself, and Deno's automatic spans
 * of its internals (its own fetches to the collector) would only add noise.
 * `CORTEX_TRACES` tells the serving process that tracing is on.
 */
function childTraceEnv(on: boolean): Record<string, string> {
  return { OTEL_DENO: "false", [TRACES_ENV]: on ? "on" : "off" };
}

/**
 * Supervises the serving process of `project`; resolves with the exit code.
 * `early` is the start's scratch root and the serving process started ahead
 * from the last start's record, if any (src/supervisor/speculative_start.ts).
 */
export async function supervise(
  project: Project,
  opts:
    & Pick<ServeSettings, "hostname" | "port" | "grpcPort" | "controlPort">
    & Partial<
      Pick<ServeSettings, "onlyApi" | "logLevel" | "logFormat" | "noCheck">
    >,
  flags: ServeFlagValues,
  early?: SpeculativeStart,
): Promise<number> {
  // OTEL_DENO=true: the serving process exports spans to the collector,
  // granted that address exactly (src/trace/).
  let tracing: TraceConfig | null;
  try {
    tracing = traceConfigFromEnv();
  } catch (error) {
    logLine("ERROR", (error as Error).message);
    return EXIT.usage;
  }
  const scratchRoot = early?.scratchRoot ??
    await Deno.makeTempDir({ prefix: "cortex-" });
  // The default --max-connections follows the serving process's fd limit.
  // (Asked while the modules are prepared.)
  const fdLimitProbe = probeFdLimit();
  // The serving process cannot write outside its scratch root, so it reports
  // its control port in its generation's directory there (and asks to be
  // replaced the same way); the supervisor writes the state file.
  const token = resolveToken();
  const descriptorsFile = `${scratchRoot}/descriptors.json`;
  const socket = `${scratchRoot}/grpc.sock`;
  const hasGrpc = project.apis.some((a) =>
    a.handler.protobufPath !== null &&
    (!opts.onlyApi || a.name === opts.onlyApi)
  );
  if (hasGrpc) {
    await Deno.writeTextFile(
      descriptorsFile,
      encodeDescriptors(await compileDescriptors(project)),
    );
  }
  // The first serving process takes the project as validated here instead of
  // parsing cortex.yaml again (the YAML library alone costs ~40 ms to load).
  // Restarts read the files afresh: they may have changed since.
  // Every handler's module graph is resolved and cached now; the serving
  // process loads nothing else (src/supervisor/modules.ts).
  let modules: ModuleFiles;
  try {
    modules = await prepareModules(project, scratchRoot, {
      onlyApi: opts.onlyApi ?? undefined,
      noCheck: opts.noCheck,
      cache: PrepareCache.fromEnv() ?? undefined,
    });
    if (modules.fromCache) {
      logLine(
        "INFO",
        "The handlers' modules are unchanged since a start that cached and checked them: deno cache, info and check skipped (prepare cache)",
      );
    }
  } catch (error) {
    logLine("ERROR", (error as Error).message);
    await Deno.remove(scratchRoot, { recursive: true }).catch(() => {});
    return EXIT.usage;
  }
  // handler.models URLs: downloaded and checked now (the serving process
  // and replicas have no network for them), read-only from then on.
  let modelFiles: Record<string, string>;
  try {
    // Loaded only for models (it loads node:crypto, ~10 ms of a start).
    modelFiles = project.apis.some((a) => a.handler.models?.paths.length)
      ? await (await import("./model_cache.ts")).prepareModelFiles(project, {
        onlyApi: opts.onlyApi ?? undefined,
      })
      : {};
  } catch (error) {
    logLine("ERROR", (error as Error).message);
    await Deno.remove(scratchRoot, { recursive: true }).catch(() => {});
    return EXIT.usage;
  }
  const fdLimit = await fdLimitProbe;
  const modelsFile = `${scratchRoot}/models.json`;
  await Deno.writeTextFile(modelsFile, JSON.stringify(modelFiles));
  const projectFile = `${scratchRoot}/project.json`;
  await Deno.writeTextFile(projectFile, JSON.stringify(project));
  let projectFileUnused = true;
  let spawnedFirst = false;
  const genDir = (gen: number) => `${scratchRoot}/gen-${gen}`;
  // Each serving process binds the bridge socket in its own directory, then
  // renames it to `socket`, where the gRPC process connects.
  const listenOf = (gen: number) => ({
    ...opts,
    replicaSocket: `${genDir(gen)}/replicas/r.sock`,
    ...(hasGrpc
      ? { grpcSocket: socket, grpcSocketBind: `${genDir(gen)}/grpc.sock` }
      : {}),
  });
  const reportOf = (gen: number) => `${genDir(gen)}/control.json`;
  /** Each generation's control report, once it serves (null: it never did). */
  const reports = new Map<number, Promise<ControlReport | null>>();
  /** The HTTP port actually bound: later generations bind it too (--port 0). */
  let httpPort: number | null = null;
  /** The gRPC port actually bound: a restarted gRPC process binds it too. */
  let grpcPort: number | null = null;
  const serving: SupervisedChild = new SupervisedChild({
    name: "Serving process",
    // Each generation gets its own scratch directory: one may still be
    // draining (and removes its scratch root at exit) when the next starts.
    args: (gen) => [
      "run",
      ...UNSTABLE_FLAGS,
      ...moduleFlags(modules),
      ...serverPermissionFlags(
        project,
        listenOf(gen),
        scratchRoot,
        Object.values(modelFiles),
        tracing ? [exporterGrant(tracing)] : [],
      ),
      SERVE_MAIN,
      ...serveProcessArgv.toArgv({
        projectDir: project.dir,
        flags: httpPort !== null ? { ...flags, port: String(httpPort) } : flags,
        ...(projectFileUnused && !(projectFileUnused = false)
          ? { projectJson: projectFile }
          : {}),
        ...(fdLimit !== null ? { fdLimit } : {}),
        scratchRoot: `${genDir(gen)}/replicas`,
        replicaSocket: listenOf(gen).replicaSocket,
        modules: {
          importMap: modules.importMap,
          lock: modules.lock,
          ...(modules.packages ? { packagesFile: modules.packages } : {}),
        },
        modelsFile,
        controlReport: reportOf(gen),
        replaceRequest: replaceRequestPath(genDir(gen)),
        prestartFile: `${genDir(gen)}/prestart.json`,
        ...(hasGrpc
          ? {
            grpc: {
              descriptors: descriptorsFile,
              socket,
              socketBind: listenOf(gen).grpcSocketBind!,
            },
          }
          : {}),
      }),
    ],
    // The token comes with "go" on stdin: not in the environment (nor in
    // the record of this start, which stores the environment given here).
    env: { [TOKEN_ENV]: "", ...childTraceEnv(tracing !== null) },
    firstCommand: () => goCommand(token),
    // The first one may have been started ahead with this very command.
    spawn: (args, env) => {
      const ahead = spawnedFirst ? null : early?.take(args, env ?? {}, logLine);
      spawnedFirst = true;
      return ahead ?? spawnDeno(args, env);
    },
    isFinal: (status) =>
      status.signal === null && FINAL_EXIT_CODES.has(status.code),
    beforeSpawn: (gen) => Deno.mkdir(genDir(gen), { recursive: true }),
    onSpawn: async (child, gen) => {
      const report = waitForReport(child, reportOf(gen));
      reports.set(gen, report);
      if ((await report) === null) return;
      // Asked to be replaced (a replica's thread is stuck): only the
      // current generation's request counts.
      const watching = new AbortController();
      child.status.then(() => watching.abort());
      await watchReplaceRequests(
        replaceRequestPath(genDir(gen)),
        watching.signal,
        (reason) => {
          if (serving.child?.pid === child.pid) void serving.replace(reason);
        },
      );
    },
    isReady: async (_child, gen) => (await reports.get(gen)) != null,
    onCurrent: async (child, gen) => {
      const report = await reports.get(gen);
      if (!report) return;
      httpPort = report.httpPort;
      grpcPort = report.grpcPort;
      const statePath = await publishState(child, report, token, project.dir);
      // It served: the next start of this invocation may start it ahead.
      if (gen === 1) await early?.store();
      await child.status;
      if (statePath) await removeStateFile(statePath, token, child.pid);
    },
    afterExit: async (gen) => {
      reports.delete(gen);
      // It served (its report is there), however soon it was stopped.
      if (
        gen === 1 && await readControlReport(reportOf(gen)).catch(() => null)
      ) {
        await early?.store();
      }
      await Deno.remove(genDir(gen), { recursive: true }).catch(() => {});
    },
    log: logLine,
  });
  const grpc = hasGrpc
    ? new SupervisedChild({
      name: "gRPC process",
      // After a crash it comes back on the port clients know (--grpc-port 0).
      args: () => [
        "run",
        ...grpcProcessPermissionFlags(
          { hostname: opts.hostname, grpcPort: grpcPort ?? opts.grpcPort },
          scratchRoot,
          socket,
        ),
        GRPC_MAIN,
        ...grpcProcessArgv.toArgv({
          socket,
          descriptors: descriptorsFile,
          host: opts.hostname,
          grpcPort: grpcPort ?? opts.grpcPort,
          logLevel: opts.logLevel ?? "info",
          logFormat: opts.logFormat ?? "json",
        }),
      ],
      env: childTraceEnv(false),
      log: logLine,
    })
    : null;
  const children = [serving, ...(grpc ? [grpc] : [])];
  let stopping = false;
  let lastSignal = 0;
  const onSignal = () => {
    // One keypress or `kill -- -pgid` reaches us twice (directly and relayed
    // by `deno task`); a signal within 300 ms of the last is the same one.
    const now = Date.now();
    if (now - lastSignal < 300) return;
    lastSignal = now;
    if (!stopping) {
      stopping = true;
      for (const c of children) c.drain();
    } else {
      for (const c of children) c.send("exit");
    }
  };
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const grpcDone = grpc?.run();
    const code = await serving.run();
    // The serving process is done for good (drained, or a final error).
    grpc?.drain();
    await grpcDone;
    return code;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
    await Deno.remove(scratchRoot, { recursive: true }).catch(() => {});
  }
}
