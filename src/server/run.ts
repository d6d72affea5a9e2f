/**
 * Runs a project's server in this process until SIGTERM/SIGINT: the serving
 * half of `cortex serve` (the supervisor starts this in a child process) and
 * of compiled binaries.
 *
 * @module
 */

import { loadProject } from "../config/load_project.ts";
import type { Project } from "../config/types.ts";
import { Server, type ServerOptions } from "./server.ts";

/** Exit codes of the serving process. */
export const EXIT = { ok: 0, noApi: 3, config: 2 } as const;

/** Starts the server and prints where each API is served. */
export async function runServer(
  project: Project,
  opts: Omit<ServerOptions, "scratchRoot"> & { scratchRoot?: string },
): Promise<number> {
  Deno.chdir(project.dir);
  const scratchRoot = opts.scratchRoot ??
    await Deno.makeTempDir({ prefix: "cortex-scratch-" });
  const server = new Server(project, { ...opts, scratchRoot });
  const stopped = Promise.withResolvers<number>();
  let signals = 0;
  const onSignal = (signal: Deno.Signal) => {
    signals++;
    if (signals > 1) {
      server.logger.warning(`Second ${signal}: exiting at once`);
      Deno.exit(1);
    }
    const grace = Math.max(
      0,
      ...project.apis.map((a) => a.handler.shutdownGracePeriodMs),
    );
    server.shutdown(grace).then(() => stopped.resolve(EXIT.ok));
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => onSignal(signal));
  }
  await server.start();
  if (server.failed) {
    server.logger.error("No API could start; exiting");
    await server.shutdown(0);
    return EXIT.noApi;
  }
  const host = opts.hostname === "0.0.0.0" ? "localhost" : opts.hostname;
  for (const { pool } of server.apis.values()) {
    const api = pool.api;
    const url = api.handler.protobufPath
      ? `grpc://${host}:${opts.grpcPort}`
      : `http://${host}:${server.port}${api.networking.endpoint}`;
    server.logger.info(`API "${api.name}" is ${pool.status} at ${url}`, {
      extra: { api: api.name, url, replicas: pool.ready.length, status: pool.status },
    });
  }
  server.logger.info(`Serving on http://${host}:${server.port}`, {
    extra: { port: server.port, grpcPort: opts.grpcPort },
  });
  const code = await stopped.promise;
  await Deno.remove(scratchRoot, { recursive: true }).catch(() => {});
  return code;
}

/** Loads the project in `dir` then runs it. */
export async function serveDir(
  dir: string,
  opts: Omit<ServerOptions, "scratchRoot">,
): Promise<number> {
  return await runServer(await loadProject(dir), opts);
}
