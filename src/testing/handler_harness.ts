/**
 * Unit-test a handler without a server: the project's cortex.yaml, config and
 * handler module, and the same request pipeline a replica runs (payload
 * parsing, method dispatch, encoding, errors, timeouts, callbacks), called
 * in-process with web Requests.
 *
 * @module
 */

import type { HandlerContext } from "../handler/types.ts";
import { Logger } from "../log/logger.ts";
import { CustomMetrics } from "../metrics/custom_metrics.ts";
import { RequestStats } from "../metrics/request_stats.ts";
import { Admission, createAdmissionBuffer } from "../replica/admission.ts";
import { findHandlerClass } from "../replica/handler_loader.ts";
import { createHttpPipeline } from "../replica/http_pipeline.ts";
import { Slots } from "../replica/slots.ts";

/** A handler loaded for tests. */
export interface HandlerHarness {
  /** The API: its name and kind as in cortex.yaml. */
  readonly api: { readonly name: string; readonly kind: string };
  /** The handler instance, for direct calls. */
  readonly handler: Record<string, unknown>;
  /** Log lines the handler wrote (ctx.logger, req.logger), as objects. */
  readonly logs: Record<string, unknown>[];
  /** Sends a request through the replica's pipeline. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Waits for pending callbacks and removes the scratch directory. */
  close(): Promise<void>;
}

/**
 * Loads a project's handler the way a replica does, without a server and
 * without the sandbox (the test's own permissions apply). The process works
 * in the project directory until `close()`, so relative paths resolve as
 * under `serve`; load one project at a time.
 *
 * @param projectDir The directory that holds cortex.yaml.
 * @param apiName The API to load; the first one by default.
 * @returns A harness that sends requests to the handler.
 *
 * @example Test a handler
 * ```ts ignore
 * import { loadHandler } from "cortex";
 *
 * Deno.test("hello greets", async () => {
 *   const h = await loadHandler("examples/hello");
 *   const res = await h.request("/hello", { method: "POST", body: '{"name":"Ann"}', headers: { "content-type": "application/json" } });
 *   console.assert((await res.json()).message === "Hello, Ann!");
 *   await h.close();
 * });
 * ```
 */
export async function loadHandler(
  projectDir: string,
  apiName?: string,
): Promise<HandlerHarness> {
  // Loaded here, not statically: mod.ts exports this harness, and every
  // replica imports mod.ts, which must not pull in the cortex.yaml parser
  // (the YAML library alone is ~50 ms and ~10 MB of a replica's start).
  const { loadProject } = await import("../config/load_project.ts");
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
  const base = new Logger({
    level: api.handler.logLevel,
    labels: { apiName: api.name, apiKind: api.kind, replicaId: "test" },
    write: (lines) => lines.forEach((l) => logs.push(JSON.parse(l))),
  });
  const scratchDir = await Deno.makeTempDir({
    prefix: `cortex-test-${api.name}-`,
  });
  const ctx: HandlerContext = {
    logger: base,
    client: null,
    metrics: new CustomMetrics(),
    api: {
      name: api.name,
      kind: api.kind,
      endpoint: api.networking.endpoint,
      replicaId: "test",
    },
    projectDir: project.dir,
    scratchDir,
    // handler.models is served by `cortex serve` only (not yet here).
    models: {
      get: () =>
        Promise.reject(
          new Error("ctx.models is not available in the test harness yet"),
        ),
      names: () => [],
      versions: () => [],
    },
  };
  // Handlers read relative paths against the project, as under `serve`:
  // the test process works in the project directory until close().
  const previousCwd = Deno.cwd();
  Deno.chdir(project.dir);
  const url = new URL(api.handler.path, `file://${project.dir}/`);
  const HandlerClass = findHandlerClass(
    await import(url.href),
    api.handler.path,
  );
  const handler = new HandlerClass(structuredClone(api.handler.config), ctx);
  const admission = new Admission(createAdmissionBuffer());
  admission.limit = 0x7fffffff; // no admission limit in tests (an Int32 counter)
  const pending = new Set<Promise<unknown>>();
  const pipeline = createHttpPipeline({
    api,
    handler,
    admission,
    slot: 0,
    slots: new Slots(
      api.handler.processesPerReplica * api.handler.threadsPerProcess,
    ),
    stats: new RequestStats(),
    loggerFor: (requestId) => base.child({ requestId }),
    access: () => {},
    track: (work) => {
      pending.add(work);
      const forget = () => void pending.delete(work);
      work.then(forget, forget);
    },
  });
  return {
    api,
    handler,
    logs,
    request: async (path, init) => {
      const res = await pipeline(
        new Request(new URL(path, "http://localhost"), init),
      );
      return res;
    },
    close: async () => {
      await Promise.allSettled([...pending]);
      Deno.chdir(previousCwd);
      await Deno.remove(scratchDir, { recursive: true }).catch(() => {});
    },
  };
}
