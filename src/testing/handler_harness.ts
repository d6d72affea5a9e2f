/**
 * Unit-test a handler without a server: the project's cortex.yaml, config and
 * handler module, built by the same replica core a replica runs
 * (src/replica/replica_core.ts: `ctx`, env, console capture, chaining,
 * slots, admission, the request pipeline), called in-process with web
 * Requests.
 *
 * @module
 */

import { errorResponse } from "../http/response.ts";
import { normalizedRequest, routeFor } from "../http/request_path.ts";
import { pathOf, requestIdOf } from "../replica/http_pipeline.ts";
import { ReplicaCore } from "../replica/replica_core.ts";
import { handlerEnv } from "../config/handler_env.ts";

/** A handler loaded for tests. */
export interface HandlerHarness {
  /** The API: its name and kind as in cortex.yaml. */
  readonly api: { readonly name: string; readonly kind: string };
  /** The handler instance, for direct calls. */
  readonly handler: Record<string, unknown>;
  /**
   * Log lines as objects: what the handler wrote (ctx.logger, req.logger,
   * console), handler errors, and access lines with `accessLog`.
   */
  readonly logs: Record<string, unknown>[];
  /**
   * Resolves with the first log line (written already or to come) that
   * matches `pred`; rejects after `timeoutMs` (default 10 s) naming it.
   */
  waitForLog(
    pred: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /**
   * Sends a request as the API's replica would get it: paths outside the
   * API's endpoint are 404, like on a server.
   */
  request(path: string, init?: RequestInit): Promise<Response>;
  /**
   * Waits for pending callbacks, puts back `Deno.env`, `console`, `fetch`
   * and the working directory, and removes the scratch directory.
   */
  close(): Promise<void>;
}

/** Options of {@linkcode loadHandler}. */
export interface LoadHandlerOptions {
  /**
   * Answers the handler's chained calls to other APIs of the project
   * (`fetch("http://api-<name>:8888/...")`); calls to its own API go through
   * its own pipeline. Without it, a call to another API rejects naming it.
   */
  chain?: (api: string, req: Request) => Response | Promise<Response>;
  /** Environment variables over the project's `.env` and `handler.env`. */
  env?: Record<string, string>;
  /** Writes an access line per response into `logs` (default false). */
  accessLog?: boolean;
}

/**
 * The cortex.yaml loader, imported by a computed URL when a test loads a
 * handler. mod.ts exports this harness and every replica imports mod.ts: at
 * a process's start Deno reads and parses the whole graph behind each
 * literal `import("...")` of a module it loads, run or not, and this one
 * (the loader and the vendored YAML parser, ~90 modules) cost each replica
 * ~1 MB of private memory and ~4 ms of its start. A computed URL is read
 * only when imported, with the test's read permission.
 */
function importLoadProject(): Promise<
  typeof import("../config/load_project.ts")
> {
  return import(new URL("../config/load_project.ts", import.meta.url).href);
}

/** The harness loaded now: the core replaces process-wide globals. */
let loaded: string | null = null;

/**
 * Loads a project's handler the way a replica does, without a server and
 * without the sandbox (the test's own permissions apply). Until `close()`,
 * the process works in the project directory (relative paths resolve as
 * under `serve`), `Deno.env` and `process.env` show the handler's
 * environment, `console` writes to `logs`, and `fetch` chains
 * `http://api-<name>:8888` calls; so one handler is loaded at a time.
 *
 * @param projectDir The directory that holds cortex.yaml.
 * @param apiName The API to load; the first one by default.
 * @param options Chained calls, extra environment, access lines.
 * @returns A harness that sends requests to the handler.
 * @throws {Error} When another handler is loaded and not closed yet.
 *
 * @example Test a handler
 * ```ts
 * import { loadHandler } from "cortex";
 *
 * Deno.test("hello greets", async () => {
 *   const h = await loadHandler("examples/hello");
 *   const res = await h.request("/hello", {
 *     method: "POST",
 *     headers: { "content-type": "application/json" },
 *     body: JSON.stringify({ name: "Ann" }),
 *   });
 *   if ((await res.json()).message !== "Hello, Ann!") throw new Error("wrong");
 *   await h.close();
 * });
 * ```
 */
export async function loadHandler(
  projectDir: string,
  apiName?: string,
  options: LoadHandlerOptions = {},
): Promise<HandlerHarness> {
  if (loaded !== null) {
    throw new Error(
      `Cannot load a handler while "${loaded}" is loaded: close() it first`,
    );
  }
  const { loadProject } = await importLoadProject();
  const project = await loadProject(projectDir);
  const api = apiName === undefined
    ? project.apis[0]
    : project.apis.find((a) => a.name === apiName);
  if (!api) {
    throw new RangeError(
      `Cannot load API "${apiName ?? "(first)"}": ${project.configPath} has ${
        project.apis.map((a) => `"${a.name}"`).join(", ") || "no APIs"
      }`,
    );
  }
  const logs: Record<string, unknown>[] = [];
  const logWaiters = new Set<() => void>();
  const replicaId = "test";
  const scratchDir = await Deno.makeTempDir({
    prefix: `cortex-test-${api.name}-`,
  });
  const apiNames = new Set(project.apis.map((a) => a.name));
  const core = new ReplicaCore({
    api,
    replicaId,
    projectDir: project.dir,
    scratchDir,
    env: {
      ...handlerEnv(project, api, {
        CORTEX_API_NAME: api.name,
        CORTEX_REPLICA_ID: replicaId,
        CORTEX_PROJECT_DIR: project.dir,
        CORTEX_SCRATCH_DIR: scratchDir,
      }),
      ...options.env,
    },
    apiNames,
    logLevel: api.handler.logLevel,
    runtimeLogLevel: "info",
    accessLog: options.accessLog ?? false,
    client: null,
    transport: {
      logs: (lines) => {
        for (const line of lines) logs.push(JSON.parse(line));
        for (const check of logWaiters) check();
      },
      chain: async (target, req) => {
        if (!options.chain) {
          throw new TypeError(
            `Chained call to API "${target}" (${req.url}): loadHandler() answers calls to other APIs through its "chain" option`,
          );
        }
        return await options.chain(target, req);
      },
    },
  });
  loaded = `${project.configPath}: ${api.name}`;
  // Handlers read relative paths against the project, as under `serve`:
  // the test process works in the project directory until close().
  const previousCwd = Deno.cwd();
  Deno.chdir(project.dir);
  const undo = async () => {
    core.restore();
    Deno.chdir(previousCwd);
    loaded = null;
    await Deno.remove(scratchDir, { recursive: true }).catch(() => {});
  };
  try {
    await core.construct();
    await core.startPipeline();
  } catch (error) {
    await undo();
    throw error;
  }
  const routes = [{ endpoint: api.networking.endpoint, api: api.name }];
  return {
    api,
    handler: core.handler,
    logs,
    waitForLog: (pred, timeoutMs = 10_000) => {
      const { promise, resolve, reject } = Promise.withResolvers<
        Record<string, unknown>
      >();
      const done = () => {
        clearTimeout(timer);
        logWaiters.delete(check);
      };
      const check = () => {
        const found = logs.find(pred);
        if (found) {
          done();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `No log line of API "${api.name}" matched within ${timeoutMs} ms (${logs.length} lines)`,
          ),
        );
      }, timeoutMs);
      logWaiters.add(check);
      check();
      return promise;
    },
    request: async (path, init) => {
      const req = normalizedRequest(
        new Request(new URL(path, "http://localhost"), init),
      );
      const at = pathOf(req.url);
      if (routeFor(routes, at) === null) {
        return errorResponse(404, `No API is served at "${at}"`, {}, {
          "x-request-id": requestIdOf(req),
        });
      }
      return await core.pipeline(req);
    },
    close: async () => {
      await Promise.allSettled([...core.pendingWork]);
      await undo();
    },
  };
}
