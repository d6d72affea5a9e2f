/**
 * End-to-end test helper: runs `cortex serve` on a fixture project in a
 * child process, on port 0, and hands the test its URL and its log lines.
 * The command line lives here and only here.
 *
 * @module
 */

import { fileURLToPath as fromFileUrl } from "node:url";

/** Options of {@linkcode withServer} and {@linkcode runToExit}. */
export interface ServerOptions {
  /** Extra `cortex serve` arguments. */
  args?: string[];
  /** Extra environment variables of the server process. */
  env?: Record<string, string>;
  /** How long to wait for "Serving on" (default 60 s). */
  readyTimeoutMs?: number;
  /** `--port` (default 0). */
  port?: number;
  /** `--grpc-port` (default 0). */
  grpcPort?: number;
  /**
   * Start the server in its own process group (setsid), so a test can signal
   * the whole group with `Deno.kill(-pid, signal)` like `kill -- -PGID`.
   */
  detached?: boolean;
  /**
   * A command the server runs under, e.g. `["prlimit", "--nofile=256:256"]`
   * to lower its descriptor limit.
   */
  wrap?: string[];
  /**
   * Another checkout of the runtime (e.g. a copy without
   * `tools/deno/node_modules`): the server runs as its `serve` task, the
   * command line of its deno.json run with this Deno, in that directory.
   */
  checkout?: string;
}

/** A JSON log line, as parsed from stdout. */
export type LogLine = Record<string, unknown>;

/** What a test gets from {@linkcode withServer}. */
export interface RunningServer {
  /** `http://localhost:PORT` with no trailing slash. */
  url: string;
  port: number;
  /**
   * The gRPC port: from the "Serving on" line (the port the gRPC process
   * bound, also with `--grpc-port 0`), else `opts.grpcPort`.
   */
  grpcPort: number;
  pid: number;
  proc: Deno.ChildProcess;
  /** Every stdout line so far, parsed. */
  lines(): LogLine[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first line (already seen or to come) matching `pred`. */
  waitForLine(
    pred: (line: LogLine) => boolean,
    timeoutMs?: number,
  ): Promise<LogLine>;
}

const ROOT = fromFileUrl(new URL("../", import.meta.url));
const CLI = fromFileUrl(new URL("../cli.ts", import.meta.url));

/** Absolute path of a fixture project under tests/fixtures/. */
export function fixture(name: string): string {
  return fromFileUrl(new URL(`./fixtures/${name}/`, import.meta.url));
}

/** Absolute path of an example project under examples/. */
export function example(name: string): string {
  return fromFileUrl(new URL(`../examples/${name}/`, import.meta.url));
}

/**
 * The `serve` task of a checkout's deno.json as arguments of this Deno:
 * `deno run <flags> cli.ts serve` without the leading `deno`.
 */
function serveTask(checkout: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${checkout}/deno.json`));
  const [deno, ...args] = String(config.tasks.serve).split(/\s+/);
  if (deno !== "deno") throw new Error(`Unexpected serve task in ${checkout}`);
  return args;
}

/** The one place that knows how to start a server. */
function serverCommand(projectDir: string, opts: ServerOptions): Deno.Command {
  if (opts.checkout !== undefined) {
    return new Deno.Command(Deno.execPath(), {
      args: [
        ...serveTask(opts.checkout),
        projectDir,
        "--port",
        String(opts.port ?? 0),
        "--grpc-port",
        String(opts.grpcPort ?? 0),
        ...(opts.args ?? []),
      ],
      cwd: opts.checkout,
      env: { NO_COLOR: "1", ...(opts.env ?? {}) },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: opts.detached ?? false,
    });
  }
  const wrap = opts.wrap ?? [];
  return new Deno.Command(wrap[0] ?? Deno.execPath(), {
    args: [
      ...(wrap.length > 0 ? [...wrap.slice(1), Deno.execPath()] : []),
      "run",
      "--unstable-worker-options",
      "--unstable-net",
      "--unstable-no-legacy-abort",
      "-A",
      CLI,
      "serve",
      projectDir,
      "--port",
      String(opts.port ?? 0),
      "--grpc-port",
      String(opts.grpcPort ?? 0),
      ...(opts.args ?? []),
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...(opts.env ?? {}) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: opts.detached ?? false,
  });
}

/**
 * Starts the server without waiting for anything, for tests of what happens
 * before it serves; the caller consumes or cancels its stdout and stderr.
 */
export function spawnServer(
  projectDir: string,
  opts: ServerOptions = {},
): Deno.ChildProcess {
  return serverCommand(projectDir, opts).spawn();
}

/** Collects a process's stdout as lines and its stderr as text. */
class Output {
  readonly raw: string[] = [];
  readonly parsed: LogLine[] = [];
  readonly bad: string[] = [];
  stderr = "";
  #waiters = new Set<() => void>();
  readonly done: Promise<void>;

  constructor(proc: Deno.ChildProcess) {
    this.done = Promise.all([
      this.#readLines(proc.stdout),
      this.#readErr(proc.stderr),
    ]).then(() => this.#notify());
  }

  async #readLines(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      rest += text;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        this.#add(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
      this.#notify();
    }
    if (rest) this.#add(rest);
  }

  async #readErr(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      this.stderr += text;
    }
  }

  #add(line: string): void {
    this.raw.push(line);
    try {
      const value = JSON.parse(line);
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new TypeError("not an object");
      }
      this.parsed.push(value);
    } catch {
      this.bad.push(line);
    }
  }

  #notify(): void {
    for (const w of this.#waiters) w();
  }

  /** Resolves with a matching line, or rejects on timeout / end of output. */
  wait(
    pred: (l: LogLine) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<LogLine> {
    const { promise, resolve, reject } = Promise.withResolvers<LogLine>();
    let ended = false;
    void this.done.then(() => (ended = true));
    const check = () => {
      const found = this.parsed.find(pred);
      if (found) finish(() => resolve(found));
      else if (ended) {
        finish(() => reject(new Error(`Output ended before ${what}`)));
      }
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`),
          )
        ),
      timeoutMs,
    );
    const finish = (f: () => void) => {
      clearTimeout(timer);
      this.#waiters.delete(check);
      f();
    };
    this.#waiters.add(check);
    void this.done.then(() => {
      ended = true;
      check();
    });
    check();
    return promise;
  }

  dump(label: string): void {
    const text = [
      `----- ${label}: stdout (${this.raw.length} lines) -----`,
      ...this.raw.map((l) => l.length > 2000 ? l.slice(0, 2000) + "…" : l),
      `----- ${label}: stderr -----`,
      this.stderr,
    ].join("\n");
    Deno.stderr.writeSync(new TextEncoder().encode(text + "\n"));
  }
}

function kill(proc: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    proc.kill(signal);
  } catch {
    // Already exited.
  }
}

/**
 * Starts the server on `projectDir`, waits for "Serving on", runs `fn`, then
 * stops the server (SIGTERM, SIGKILL after 10 s) and waits for it to exit.
 * Fails the test when any stdout line is not a JSON object; dumps the output
 * when the test fails.
 */
export async function withServer(
  projectDir: string,
  opts: ServerOptions,
  fn: (s: RunningServer) => Promise<void>,
): Promise<void> {
  const proc = serverCommand(projectDir, opts).spawn();
  const out = new Output(proc);
  let failed = true;
  try {
    const ready = await out.wait(
      (l) =>
        typeof l.port === "number" &&
        String(l.message).startsWith("Serving on "),
      opts.readyTimeoutMs ?? 60_000,
      '"Serving on" line',
    );
    const port = ready.port as number;
    await fn({
      url: `http://localhost:${port}`,
      port,
      grpcPort: (ready.grpcPort as number) || (opts.grpcPort ?? 0),
      pid: proc.pid,
      proc,
      lines: () => [...out.parsed],
      stderr: () => out.stderr,
      waitForLine: (pred, timeoutMs = 10_000) =>
        out.wait(pred, timeoutMs, "a matching log line"),
    });
    failed = false;
  } finally {
    kill(proc, "SIGTERM");
    const hard = setTimeout(() => kill(proc, "SIGKILL"), 10_000);
    await proc.status;
    clearTimeout(hard);
    await out.done;
    if (failed || out.bad.length > 0) out.dump(projectDir);
  }
  if (out.bad.length > 0) {
    throw new Error(
      `${out.bad.length} stdout line(s) are not JSON objects, e.g. ${
        JSON.stringify(out.bad[0]!.slice(0, 300))
      }`,
    );
  }
}

/** The result of a server run that ended by itself. */
export interface ExitResult {
  code: number;
  lines: LogLine[];
  stderr: string;
}

/** Runs the server until it exits by itself (e.g. startup failures). */
export async function runToExit(
  projectDir: string,
  opts: ServerOptions & { timeoutMs?: number } = {},
): Promise<ExitResult> {
  const proc = serverCommand(projectDir, opts).spawn();
  const out = new Output(proc);
  const timer = setTimeout(
    () => kill(proc, "SIGKILL"),
    opts.timeoutMs ?? 60_000,
  );
  const status = await proc.status;
  clearTimeout(timer);
  await out.done;
  if (out.bad.length > 0) {
    out.dump(projectDir);
    throw new Error(`${out.bad.length} stdout line(s) are not JSON objects`);
  }
  return { code: status.code, lines: out.parsed, stderr: out.stderr };
}

/** Extracts the messages of lines, for readable assertion failures. */
export function messages(lines: LogLine[]): string[] {
  return lines.map((l) => String(l.message));
}
