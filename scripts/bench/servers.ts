/**
 * Starting the servers under test: the runtime exactly as users run it
 * (`deno task serve <project> --port N`, i.e. the supervisor and its serving
 * child), the raw `Deno.serve` echo and the raw grpc-js echo.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  childrenOf,
  collect,
  freePort,
  sleep,
  Spawned,
  waitFor200,
} from "./proc.ts";

/** The repository root (where deno.json is). */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** Bench fixture projects. */
export const PROJECTS = fileURLToPath(new URL("./projects/", import.meta.url));
const RAW = fileURLToPath(new URL("./raw/", import.meta.url));

const GRPC_FLAGS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-sys",
];

function pinned(cpus: string | null, cmd: string[]): string[] {
  return cpus === null ? cmd : ["taskset", "-c", cpus, ...cmd];
}

/** A server under test. */
export interface RunningServer {
  readonly proc: Spawned;
  /** HTTP port (gRPC port for gRPC servers). */
  readonly port: number;
  /** The process that serves (for RSS). */
  servingPid(): Promise<number>;
  stop(): Promise<void>;
}

/** Options of {@linkcode startRuntime}. */
export interface RuntimeOptions {
  /** Project directory (absolute, or relative to the repo). */
  project: string;
  cpus: string | null;
  /** Extra `serve` flags. */
  args?: string[];
  /** Extra environment variables of the server. */
  env?: Record<string, string>;
  /** Wait for the gRPC port instead of /healthz only. */
  grpcPort?: number;
  /** The HTTP port (default: a free one). */
  port?: number;
  timeoutMs?: number;
  /**
   * The checkout whose `deno task serve` runs (default: this one); another
   * checkout's runtime, for A/B runs of two builds.
   */
  repo?: string;
}

/** The runtime under `deno task serve`, with its stdout drained through a pipe. */
export class RuntimeServer implements RunningServer {
  readonly proc: Spawned;
  readonly port: number;
  readonly grpcPort: number;

  constructor(opts: RuntimeOptions) {
    this.port = opts.port ?? freePort();
    this.grpcPort = opts.grpcPort ?? freePort();
    this.proc = new Spawned(
      pinned(opts.cpus, [
        Deno.execPath(),
        "task",
        "--quiet",
        "serve",
        opts.project,
        "--host",
        "127.0.0.1",
        "--port",
        String(this.port),
        "--grpc-port",
        String(this.grpcPort),
        ...(opts.args ?? []),
      ]),
      { cwd: opts.repo ?? REPO, env: opts.env },
    );
  }

  /** `deno task` → supervisor (cli.ts serve) → serving process. */
  async supervisorPid(): Promise<number> {
    const pid = (await childrenOf(this.proc.pid))[0];
    if (pid === undefined) {
      throw new Error(`No supervisor under "deno task" (pid ${this.proc.pid})`);
    }
    return pid;
  }

  async servingPid(): Promise<number> {
    const supervisor = await this.supervisorPid();
    const pid = (await childrenOf(supervisor))[0];
    if (pid === undefined) {
      throw new Error(
        `No serving process under the supervisor (pid ${supervisor})`,
      );
    }
    return pid;
  }

  /** Resolves when /healthz answers 200. */
  async ready(timeoutMs = 60_000): Promise<void> {
    try {
      await waitFor200(`http://127.0.0.1:${this.port}/healthz`, {
        timeoutMs,
        intervalMs: 20,
        alive: () => !this.proc.exited,
      });
    } catch (error) {
      await this.stop();
      throw new Error(
        `${
          (error as Error).message
        }\n--- server output ---\n${this.proc.output()}`,
      );
    }
  }

  /** SIGTERM to the supervisor (it drains the serving process), then the tree. */
  async stop(): Promise<void> {
    let supervisor: number[] = [];
    try {
      supervisor = [await this.supervisorPid()];
    } catch {
      // Already gone: stopping the task process is enough.
    }
    await this.proc.stop(supervisor.length > 0 ? supervisor : [this.proc.pid]);
  }
}

/** Starts the runtime and waits until it is healthy. */
export async function startRuntime(
  opts: RuntimeOptions,
): Promise<RuntimeServer> {
  const server = new RuntimeServer(opts);
  await server.ready(opts.timeoutMs);
  return server;
}

class RawServer implements RunningServer {
  constructor(readonly proc: Spawned, readonly port: number) {}
  servingPid(): Promise<number> {
    return Promise.resolve(this.proc.pid);
  }
  stop(): Promise<void> {
    return this.proc.stop();
  }
}

/** Starts the raw `Deno.serve` echo and waits until it answers. */
export async function startRawHttp(
  cpus: string | null,
): Promise<RunningServer> {
  const port = freePort();
  const proc = new Spawned(
    pinned(cpus, [
      Deno.execPath(),
      "run",
      `--allow-net=127.0.0.1:${port}`,
      `${RAW}http_echo.ts`,
      String(port),
    ]),
    { cwd: REPO },
  );
  const server = new RawServer(proc, port);
  try {
    await waitFor200(`http://127.0.0.1:${port}/`, {
      alive: () => !proc.exited,
    });
  } catch (error) {
    await server.stop();
    throw new Error(`${(error as Error).message}\n${proc.output()}`);
  }
  return server;
}

/**
 * Calls Echo/Say on `port` with a grpc-js client until it answers (or
 * `timeoutMs` passes); resolves with the error, or null when the reply is right.
 */
export async function checkGrpc(
  port: number,
  timeoutMs = 20_000,
): Promise<string | null> {
  const { code, stdout, stderr } = await collect(
    [
      Deno.execPath(),
      "run",
      ...GRPC_FLAGS,
      `${RAW}grpc_check.ts`,
      String(port),
      "bench",
      String(timeoutMs),
    ],
    { cwd: REPO },
  );
  if (code === 0) return null;
  try {
    const result = JSON.parse(stdout) as { error?: string; text?: string };
    return result.error ?? `unexpected reply ${JSON.stringify(result.text)}`;
  } catch {
    return `grpc_check exited with ${code}: ${stderr.trim().slice(-500)}`;
  }
}

/** Starts the raw grpc-js echo and waits until it answers. */
export async function startRawGrpc(
  cpus: string | null,
): Promise<RunningServer> {
  const port = freePort();
  const proc = new Spawned(
    pinned(cpus, [
      Deno.execPath(),
      "run",
      ...GRPC_FLAGS,
      `${RAW}grpc_echo.ts`,
      String(port),
    ]),
    { cwd: REPO },
  );
  const server = new RawServer(proc, port);
  const error = await checkGrpc(port);
  if (error !== null) {
    await server.stop();
    throw new Error(
      `Raw gRPC server does not answer: ${error}\n${proc.output()}`,
    );
  }
  return server;
}

/** Gives a just-started server a moment to settle (JIT, GC) before measuring. */
export function settle(ms = 300): Promise<void> {
  return sleep(ms);
}
