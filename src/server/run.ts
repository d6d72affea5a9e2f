/**
 * Runs a project's server in this process until SIGTERM/SIGINT: the serving
 * half of `cortex serve` (the supervisor starts this in a child process) and
 * of compiled binaries.
 *
 * @module
 */

import type { Project } from "../config/resolved_config.ts";
import { Server, type ServerOptions } from "./project_server.ts";
import { startControlPlane } from "../control/control_plane.ts";
import { createServerTarget } from "../control/server_target.ts";
import { ControlProxy } from "./control_proxy.ts";
import { EXIT } from "../wire/exit_codes.ts";
import { writeControlReport } from "../wire/control_report.ts";
import type { CommandReader } from "../wire/stdin_commands.ts";

/** How long past the grace period a stop may take before a forced exit. */
const HARD_EXIT_AFTER_GRACE_MS = 5_000;

/** Starts the server and prints where each API is served. */
export async function runServer(
  project: Project,
  opts: Omit<ServerOptions, "scratchRoot" | "control"> & {
    scratchRoot?: string;
    /**
     * Supervised: stop on the supervisor's "drain"/"exit" lines on stdin (or
     * its end) instead of signals; the control token came with its "go".
     */
    supervised?: { commands: CommandReader; controlToken: string };
    /** Reload changed handlers and config (`--watch`). */
    watch?: boolean;
    /** Control API port on 127.0.0.1 (0: any free port). */
    controlPort?: number;
    /**
     * Where to report the control API's port for the supervisor, which
     * writes the state file; without it this process writes the state file.
     */
    controlReport?: string;
  },
): Promise<number> {
  try {
    Deno.chdir(project.dir);
  } catch (error) {
    // Inside a compiled binary the project is embedded: relative paths are
    // resolved by the generated entry instead.
    if (!(error instanceof Deno.errors.NotSupported)) throw error;
  }
  const scratchRoot = opts.scratchRoot ??
    await Deno.makeTempDir({ prefix: "cortex-scratch-" });
  const server: Server = new Server(project, {
    ...opts,
    scratchRoot,
    control: null,
  });
  // The control plane exists before replicas start: they get ctx.client,
  // whose calls the proxy runs in-process under each API's policy.
  const target = createServerTarget(server);
  const plane = await startControlPlane({
    target,
    port: opts.controlPort ?? 0,
    // A replacement serving process binds the same port while we drain.
    reusePort: opts.supervised !== undefined,
    token: opts.supervised?.controlToken,
  });
  const watching = new AbortController();
  server.opts.control = new ControlProxy(target);
  server.opts.controlPort = plane.port;
  const stopped = Promise.withResolvers<number>();
  const started = Promise.withResolvers<void>();
  let stops = 0;
  const stop = (why: string) => {
    stops++;
    if (stops > 1) {
      server.logger.warning(`Second stop request (${why}): exiting at once`);
      Deno.exit(EXIT.failure);
    }
    const grace = Math.max(
      0,
      ...project.apis.map((a) => a.handler.shutdownGracePeriodMs),
    );
    watching.abort();
    // Whatever might still hang (a client that never reads, a replica that
    // will not drain), we exit soon after the grace.
    const deadline = setTimeout(() => {
      server.logger.error(
        `Still not stopped ${
          grace + HARD_EXIT_AFTER_GRACE_MS
        } ms after the stop request; exiting`,
      );
      Deno.exit(EXIT.failure);
    }, grace + HARD_EXIT_AFTER_GRACE_MS);
    Deno.unrefTimer(deadline);
    // Told to stop while starting: replicas still being constructed cannot
    // drain yet, so the start finishes first.
    started.promise
      .then(() => plane.shutdown())
      .then(() => server.shutdown(grace))
      .then(() => stopped.resolve(EXIT.ok));
  };
  if (opts.supervised) {
    // The supervisor decides: a signal to our process group is ignored here
    // (the supervisor relays it once), and commands come on stdin.
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(signal, () => {});
    }
    opts.supervised.commands.onStop(stop);
  } else {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(signal, () => stop(signal));
    }
  }
  const finish = async () => {
    const code = await stopped.promise;
    await Deno.remove(scratchRoot, { recursive: true }).catch(() => {});
    return code;
  };
  await server.start().finally(() => started.resolve());
  if (stops > 0) return await finish();
  if (server.failed) {
    server.logger.error("No API could start; exiting");
    await plane.shutdown();
    await server.shutdown(0);
    return EXIT.noApi;
  }
  // The bridge's gRPC process reports the port it bound (with --grpc-port 0).
  await server.grpcReady(15_000);
  if (opts.controlReport) {
    await writeControlReport(opts.controlReport, {
      port: plane.port,
      httpPort: server.port,
      grpcPort: server.grpcPort,
    });
  } else {
    const state = await plane.writeState({
      httpPort: server.port,
      projectDir: project.dir,
    });
    if (state.error) {
      server.logger.warning(
        `Cannot write the control state file: ${state.error}`,
      );
    }
  }
  const host = opts.hostname === "0.0.0.0" ? "localhost" : opts.hostname;
  for (const { pool } of server.apis.values()) {
    const api = pool.api;
    const url = server.endpointOf(api);
    server.logger.info(`API "${api.name}" is ${pool.status} at ${url}`, {
      extra: {
        api: api.name,
        url,
        replicas: pool.ready.length,
        status: pool.status,
      },
    });
  }
  server.logger.info(`Serving on http://${host}:${server.port}`, {
    extra: {
      port: server.port,
      grpcPort: server.grpcPort,
      controlPort: plane.port,
    },
  });
  if (opts.watch) {
    // Loaded on demand: it pulls in the cortex.yaml parser.
    const { watchProject } = await import("./watch.ts");
    void watchProject(project.dir, target, server.logger, watching.signal);
    server.logger.info(`Watching ${project.dir} for changes`);
  }
  return await finish();
}

/** Loads the project in `dir` then runs it. */
export async function serveDir(
  dir: string,
  opts: Omit<ServerOptions, "scratchRoot" | "control">,
): Promise<number> {
  const { loadProject } = await import("../config/load_project.ts");
  return await runServer(await loadProject(dir), opts);
}
