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
 * @module
 */

import { fileURLToPath } from "node:url";
import type { Project } from "../config/types.ts";
import type { ServerOptions } from "../server/server.ts";
import { compileDescriptors, encodeDescriptors } from "./descriptors.ts";
import {
  grpcProcessPermissionFlags,
  serverPermissionFlags,
  UNSTABLE_FLAGS,
} from "./flags.ts";
import { SupervisedChild } from "./child.ts";
import { resolveToken, TOKEN_ENV } from "../control/token.ts";
import {
  removeStateFile,
  stateFilePath,
  writeStateFile,
} from "../control/state_file.ts";

const SERVE_MAIN = fileURLToPath(
  new URL("../server/serve_main.ts", import.meta.url),
);
const GRPC_MAIN = fileURLToPath(
  new URL("../grpc_process/main.ts", import.meta.url),
);

/** Exit codes that end supervision (clean exit, bad config, no API). */
const FINAL_CODES = new Set([0, 2, 3]);

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

/** Waits for the serving process's control report, then writes the state file. */
async function publishState(
  child: Deno.ChildProcess,
  report: string,
  token: string,
  projectDir: string,
): Promise<string | null> {
  let exited = false;
  child.status.then(() => exited = true);
  while (!exited) {
    try {
      const { port, httpPort } = JSON.parse(await Deno.readTextFile(report));
      const path = stateFilePath(httpPort);
      await writeStateFile(path, {
        httpPort,
        controlPort: port,
        url: `http://127.0.0.1:${port}`,
        token,
        pid: child.pid,
        projectDir,
        startedAt: new Date().toISOString(),
      });
      return path;
    } catch (error) {
      if (
        !(error instanceof Deno.errors.NotFound) &&
        !(error instanceof SyntaxError)
      ) {
        logLine(
          "ERROR",
          `Cannot write the control state file: ${(error as Error).message}`,
        );
        return null;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

/** Supervises the serving process of `project`; resolves with the exit code. */
export async function supervise(
  project: Project,
  opts:
    & Pick<ServerOptions, "hostname" | "port" | "grpcPort">
    & Partial<Pick<ServerOptions, "onlyApi" | "logLevel" | "logFormat">>
    & { controlPort: number },
  serveArgs: string[],
): Promise<number> {
  const scratchRoot = await Deno.makeTempDir({ prefix: "cortex-" });
  // The serving process cannot write outside its scratch root, so it reports
  // the control port here and the supervisor writes the state file.
  const controlReport = `${scratchRoot}/control.json`;
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
  const listen = { ...opts, ...(hasGrpc ? { grpcSocket: socket } : {}) };
  const serving = new SupervisedChild({
    name: "Serving process",
    args: [
      "run",
      ...UNSTABLE_FLAGS,
      ...serverPermissionFlags(project, listen, scratchRoot),
      SERVE_MAIN,
      project.dir,
      ...serveArgs,
      "--scratch-root",
      `${scratchRoot}/replicas`,
      "--control-report",
      controlReport,
      ...(hasGrpc
        ? ["--descriptors", descriptorsFile, "--grpc-socket", socket]
        : []),
    ],
    env: { [TOKEN_ENV]: token },
    isFinal: (status) => status.signal === null && FINAL_CODES.has(status.code),
    beforeSpawn: () => Deno.remove(controlReport).catch(() => {}),
    onSpawn: async (child) => {
      const statePath = await publishState(
        child,
        controlReport,
        token,
        project.dir,
      );
      if (statePath) await removeStateFile(statePath, token);
    },
    log: logLine,
  });
  const grpc = hasGrpc
    ? new SupervisedChild({
      name: "gRPC process",
      args: [
        "run",
        ...grpcProcessPermissionFlags(opts, scratchRoot, socket),
        GRPC_MAIN,
        "--socket",
        socket,
        "--descriptors",
        descriptorsFile,
        "--host",
        opts.hostname,
        "--grpc-port",
        String(opts.grpcPort),
        "--log-level",
        opts.logLevel ?? "info",
        "--log-format",
        opts.logFormat ?? "json",
      ],
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
