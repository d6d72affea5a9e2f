/**
 * The serving process's OTLP/HTTP exporter: spans of every replica (checked
 * on arrival) and of the serving process itself, batched and POSTed as JSON
 * to the collector. Deno's built-in OpenTelemetry exporter cannot do this
 * job: it assigns span ids itself (only a parent can come from elsewhere), so
 * it cannot export spans recorded in other processes, and turning it on in a
 * replica would give handler code a channel to the collector that no
 * permission governs (see SECURITY.md, "Traces").
 *
 * Nothing here runs, and no connection is opened, when tracing is off: the
 * exporter is not created.
 *
 * @module
 */

import type { TraceConfig } from "./config.ts";
import { exportRequest, type ResourceSpans } from "./otlp_json.ts";
import type { SpanData } from "./span.ts";

/** Options of {@linkcode TraceExporter}. */
export interface ExporterOptions {
  /** Told once per run of failures (then again after a success). */
  onError(message: string): void;
  fetch?: typeof fetch;
  /** Spans held at most while the collector is slow; more are dropped. */
  maxQueued?: number;
  /** Longest a span waits before its batch is sent. */
  intervalMs?: number;
  /** Spans per request at most. */
  batchSize?: number;
}

/** Batches spans and sends them to the collector, one request at a time. */
export class TraceExporter {
  readonly #config: TraceConfig;
  readonly #o: Required<Omit<ExporterOptions, "fetch">> & {
    fetch: typeof fetch;
  };
  #queue: { api: string; span: SpanData }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sending: Promise<void> | null = null;
  #failing = false;
  /** Spans dropped because the queue was full or a send failed. */
  dropped = 0;

  constructor(config: TraceConfig, opts: ExporterOptions) {
    this.#config = config;
    this.#o = {
      maxQueued: 20_000,
      intervalMs: 1000,
      batchSize: 2048,
      fetch: globalThis.fetch,
      ...opts,
    };
  }

  /**
   * Queues spans of `api`; `replica` (the sender, when a replica) is stamped
   * on each, whatever the span said.
   */
  add(api: string, spans: SpanData[], replica?: string): void {
    for (const span of spans) {
      if (this.#queue.length >= this.#o.maxQueued) {
        this.dropped++;
        continue;
      }
      if (replica !== undefined) {
        span.attributes = { ...span.attributes, "cortex.replica": replica };
      }
      this.#queue.push({ api, span });
    }
    if (this.#queue.length >= this.#o.batchSize) void this.flush();
    else if (this.#timer === undefined && this.#queue.length > 0) {
      this.#timer = setTimeout(() => void this.flush(), this.#o.intervalMs);
    }
  }

  /** Sends everything queued; resolves when it has been sent (or failed). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#sending) await this.#sending;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#o.batchSize);
      this.#sending = this.#send(batch);
      await this.#sending;
      this.#sending = null;
    }
  }

  async #send(batch: { api: string; span: SpanData }[]): Promise<void> {
    const byApi = new Map<string, SpanData[]>();
    for (const { api, span } of batch) {
      const list = byApi.get(api);
      if (list) list.push(span);
      else byApi.set(api, [span]);
    }
    const groups: ResourceSpans[] = [...byApi].map(([api, spans]) => ({
      resource: {
        ...this.#config.resource,
        "service.name": this.#config.serviceName ?? api,
        "cortex.api": api,
      },
      spans,
    }));
    try {
      const res = await this.#o.fetch(this.#config.url, {
        method: "POST",
        headers: {
          ...this.#config.headers,
          "content-type": "application/json",
        },
        body: JSON.stringify(exportRequest(groups, "cortex")),
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`the collector answered ${res.status}`);
      this.#failing = false;
    } catch (error) {
      this.dropped += batch.length;
      if (!this.#failing) {
        this.#failing = true;
        this.#o.onError(
          `Cannot export ${batch.length} span(s) to ${this.#config.url} (OTEL_EXPORTER_OTLP_ENDPOINT): ${
            (error as Error)?.message ?? error
          }; dropping spans until it answers`,
        );
      }
    }
  }
}
