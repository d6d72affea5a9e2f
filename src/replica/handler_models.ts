/**
 * `handler.models` for one API: the model store behind `ctx.models`, its
 * sources (project paths, downloaded URLs, a folder of versioned models),
 * a span per load when tracing is on, and the poll for changes.
 *
 * @module
 */

import type { ApiConfig } from "../config/resolved_config.ts";
import type { SpanRecorder } from "../trace/recorder.ts";
import { SpanKind } from "../trace/span.ts";
import {
  denoModelFs,
  type ModelInfo,
  type ModelSource,
  ModelStore,
} from "./models.ts";
import { currentTrace } from "./request_context.ts";

/** What the store of an API's `handler.models` is built from. */
export interface HandlerModelsOptions {
  api: ApiConfig;
  projectDir: string;
  /** `handler.models` URLs → their downloaded file. */
  modelFiles?: Record<string, string>;
  /** Loads one model file (the handler's `loadModel`). */
  load(path: string, info: ModelInfo): unknown;
  /** Records a span per load when tracing is on. */
  tracer?: SpanRecorder;
  onError(message: string, error: unknown): void;
}

/** The store of `api.handler.models` (which must be set). */
export async function handlerModelStore(
  opts: HandlerModelsOptions,
): Promise<ModelStore> {
  const { tracer } = opts;
  return new ModelStore({
    sources: await modelSources(opts),
    cacheSize: opts.api.handler.models!.cacheSize,
    fs: denoModelFs,
    load: (path, info) => {
      const call = () => opts.load(path, info);
      return tracer ? tracedLoad(tracer, info, call) : call();
    },
    onError: opts.onError,
  });
}

/**
 * Polls `store` for changes every `everyMs` (Cortex: every 10 s), one poll
 * at a time; returns a function that stops polling.
 */
export function pollModels(
  store: Pick<ModelStore, "poll">,
  everyMs: number,
  onError: (message: string, error: unknown) => void,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      store.poll().catch((error) =>
        onError("Cannot look for model changes", error)
      ).finally(schedule);
    }, everyMs);
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * `handler.models` as the store's sources: project paths and downloaded
 * URLs (`modelFiles`) as files, each sub-folder of `dir` as a model.
 */
async function modelSources(
  opts: Pick<HandlerModelsOptions, "api" | "projectDir" | "modelFiles">,
): Promise<ModelSource[]> {
  const models = opts.api.handler.models!;
  const base = opts.projectDir.replace(/\/?$/, "/");
  const sources: ModelSource[] = models.paths.map(({ name, path }) => {
    const file = opts.modelFiles?.[path] ??
      (/^https?:\/\//.test(path) ? null : base + path);
    if (file === null) {
      throw new Error(`Model "${name}" (${path}) was not downloaded`);
    }
    return { kind: "file", name, path: file };
  });
  if (models.dir !== null) {
    const dir = base + models.dir;
    for (const name of (await denoModelFs.folders(dir)).sort()) {
      if (name.startsWith(".")) continue;
      sources.push({ kind: "versions", name, dir: `${dir}/${name}` });
    }
  }
  return sources;
}

/**
 * A model load's span: a child of the request that asked for it, else the
 * root of a trace of its own (loads before ready, reloads).
 */
async function tracedLoad(
  tracer: SpanRecorder,
  info: { name: string; version: string | number },
  load: () => unknown,
): Promise<unknown> {
  const span = tracer.start(
    `model load ${info.name}@${info.version}`,
    SpanKind.INTERNAL,
    currentTrace(),
    {
      "cortex.model.name": info.name,
      "cortex.model.version": String(info.version),
    },
  );
  try {
    const model = await load();
    span.end();
    return model;
  } catch (error) {
    span.end((error as Error)?.message ?? String(error));
    throw error;
  }
}
