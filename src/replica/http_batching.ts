/**
 * The batcher of an HTTP API's POST method (server_side_batching): each
 * batch runs `handlePost(payloads, infos)` holding one of the replica's
 * slots.
 *
 * @module
 */

import { Batcher } from "./batcher.ts";
import type { HandlerMethod } from "./handler_loader.ts";
import type { PipelineDeps } from "./http_pipeline.ts";
import { spanOfInfo } from "./request_run.ts";
import { SpanKind } from "../trace/span.ts";

/** Makes the POST batcher of a pipeline. */
export function httpBatcher(
  deps: PipelineDeps,
  post: HandlerMethod,
): Batcher<unknown> {
  const { api } = deps;
  const settings = api.handler.serverSideBatching!;
  const call = post as unknown as (p: unknown[], i: unknown[]) => unknown;
  return new Batcher<unknown>({
    ...settings,
    describe: `handlePost of API "${api.name}"`,
    run: (payloads, infos) =>
      deps.slots.run(async () => {
        if (deps.tracer === undefined) return await call(payloads, infos);
        // One span per batch, linked to the span of each of its requests.
        const span = deps.tracer.start(
          "batch handlePost",
          SpanKind.INTERNAL,
          null,
          {
            "cortex.batch.size": infos.length,
          },
        );
        span.link(infos.flatMap((i) => spanOfInfo.get(i as object) ?? []));
        try {
          const values = await call(payloads, infos);
          span.end();
          return values;
        } catch (error) {
          span.end((error as Error)?.message ?? String(error));
          throw error;
        }
      }),
    onBatch: (size, waits) => deps.batchStats?.observe(size, waits),
    onShed: (infos, waitedMs) => {
      const first = infos[0] as { requestId?: string } | undefined;
      deps.loggerFor(first?.requestId ?? "").warning(
        `API "${api.name}": ${infos.length} request(s) waited ${
          Math.round(waitedMs)
        } ms for a batch (server_side_batching.max_latency is ${settings.maxLatencyMs} ms) and got 503; add replicas or raise max_concurrent_batches`,
      );
    },
  });
}
