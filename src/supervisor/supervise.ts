/**
 * `cortex serve`: validates the project, compiles its protos, then runs the
 * serving process with narrow permissions and keeps it up. A crash of the
 * serving process (grpc-js under Deno has died with SIGSEGV) is logged and
 * the process restarted within a second; SIGTERM/SIGINT are passed on and
 * the supervisor exits with the server's code once it has drained.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { Project } from "../config/types.ts";
import type { ServerOptions } from "../server/server.ts";
import { compileDescriptors, encodeDescriptors } from "./descriptors.ts";
import { serverPermissionFlags, UNSTABLE_FLAGS } from "./flags.ts";
import { resolveToken, TOKEN_ENV } from "../control/token.ts";
import {
  removeStateFile,
  stateFilePath,
  writeStateFile,
} from "../control/state_file.ts";

const SERVE_MAIN = fileURLToPath(
  new URL("../server/serve_main.ts", import.meta.url),
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
  opts: Pick<ServerOptions, "hostname" | "port" | "grpcPort"> & {
    controlPort: number;
  },
  serveArgs: string[],
): Promise<number> {
  const scratchRoot = await Deno.makeTempDir({ prefix: "cortex-" });
  // The serving process cannot write outside its scratch root, so it reports
  // the control port here and the supervisor writes the state file.
  const controlReport = `${scratchRoot}/control.json`;
  const token = resolveToken();
  const descriptorsFile = `${scratchRoot}/descriptors.json`;
  const hasGrpc = project.apis.some((a) => a.handler.protobufPath !== null);
  if (hasGrpc) {
    await Deno.writeTextFile(
      descriptorsFile,
      encodeDescriptors(await compileDescriptors(project)),
    );
  }
  const flags = [
    ...UNSTABLE_FLAGS,
    ...serverPermissionFlags(project, opts, scratchRoot),
  ];
  const args = [
    "run",
    ...flags,
    SERVE_MAIN,
    project.dir,
    ...serveArgs,
    "--scratch-root",
    `${scratchRoot}/replicas`,
    "--control-report",
    controlReport,
    ...(hasGrpc ? ["--descriptors", descriptorsFile] : []),
  ];
  let child: Deno.ChildProcess | null = null;
  let stdin: WritableStreamDefaultWriter<Uint8Array> | null = null;
  let stopping = false;
  let lastSignal = 0;
  const command = (line: string) =>
    stdin?.write(new TextEncoder().encode(line + "\n")).catch(() => {});
  const onSignal = () => {
    // One keypress or `kill -- -pgid` reaches us twice (directly and relayed
    // by `deno task`); a signal within 300 ms of the last is the same one.
    const now = Date.now();
    if (now - lastSignal < 300) return;
    lastSignal = now;
    if (!stopping) {
      stopping = true;
      command("drain");
    } else {
      command("exit");
    }
  };
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);

  let backoff = 200;
  try {
    while (true) {
      const started = Date.now();
      await Deno.remove(controlReport).catch(() => {});
      child = new Deno.Command(Deno.execPath(), {
        args,
        env: { [TOKEN_ENV]: token },
        stdin: "piped",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      stdin = child.stdin.getWriter();
      const state = publishState(child, controlReport, token, project.dir);
      const status = await child.status;
      const statePath = await state;
      if (statePath) await removeStateFile(statePath, token);
      stdin.releaseLock();
      stdin = null;
      if (stopping) return status.signal ? 0 : status.code;
      if (status.signal === null && FINAL_CODES.has(status.code)) {
        return status.code;
      }
      const reason = status.signal
        ? `signal ${status.signal}`
        : `exit code ${status.code}`;
      if (Date.now() - started > 30_000) backoff = 200;
      logLine(
        "ERROR",
        `Serving process died (${reason}); restarting in ${backoff} ms`,
        {
          reason,
          restartInMs: backoff,
        },
      );
      await new Promise((r) => setTimeout(r, backoff));
      if (stopping) return 0;
      backoff = Math.min(backoff * 2, 5_000);
    }
  } finally {
    await Deno.remove(scratchRoot, { recursive: true }).catch(() => {});
  }
}
