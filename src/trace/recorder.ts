/**
 * Records spans in a replica and sends them, batched, to the serving process
 * (which checks and exports them: src/trace/exporter.ts). A replica holds no
 * exporter, no collector address and no network grant for one: spans leave
 * it only over its channel to the serving process.
 *
 * @module
 */

import {
  type AttributeValue,
  newSpanId,
  newTraceId,
  nowMs,
  type SpanContext,
  type SpanData,
  type SpanKindValue,
} from "./span.ts";

/** Spans sent in one message at most (the serving process's check allows 1024). */
export const MAX_SPANS_PER_MESSAGE = 512;

/** A started span; {@linkcode OpenSpan.end} records it. */
export class OpenSpan implements SpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly #recorder: SpanRecorder;
  readonly #data: SpanData;
  #ended = false;

  constructor(
    recorder: SpanRecorder,
    name: string,
    kind: SpanKindValue,
    parent: SpanContext | null | undefined,
    attributes?: Record<string, AttributeValue>,
  ) {
    this.#recorder = recorder;
    this.traceId = parent?.traceId ?? newTraceId();
    this.spanId = newSpanId();
    this.#data = {
      traceId: this.traceId,
      spanId: this.spanId,
      ...(parent ? { parentSpanId: parent.spanId } : {}),
      name,
      kind,
      start: nowMs(),
      end: 0,
      ...(attributes ? { attributes } : {}),
    };
  }

  /** Adds an attribute (before the span ends). */
  set(key: string, value: AttributeValue): void {
    (this.#data.attributes ??= {})[key] = value;
  }

  /** Relates this span to others (a batch to its requests). */
  link(links: SpanContext[]): void {
    this.#data.links = links.map((l) => ({
      traceId: l.traceId,
      spanId: l.spanId,
    }));
  }

  /** Ends the span (once), failed when `error` is given. */
  end(error?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#data.end = nowMs();
    if (error !== undefined) this.#data.error = error.slice(0, 1024);
    this.#recorder.record(this.#data);
  }
}

/** Collects finished spans and sends them in batches. */
export class SpanRecorder {
  readonly #send: (spans: SpanData[]) => void;
  readonly #delayMs: number;
  #buffer: SpanData[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param send posts one batch (the replica's `trace.spans` message)
   * @param delayMs how long a finished span may wait for others
   */
  constructor(send: (spans: SpanData[]) => void, delayMs = 200) {
    this.#send = send;
    this.#delayMs = delayMs;
  }

  /** Starts a span: a child of `parent`, or the root of a new trace. */
  start(
    name: string,
    kind: SpanKindValue,
    parent: SpanContext | null | undefined,
    attributes?: Record<string, AttributeValue>,
  ): OpenSpan {
    return new OpenSpan(this, name, kind, parent, attributes);
  }

  /** Queues a finished span. */
  record(span: SpanData): void {
    this.#buffer.push(span);
    if (this.#buffer.length >= MAX_SPANS_PER_MESSAGE) this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#delayMs);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Sends what is queued now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer.length === 0) return;
    const spans = this.#buffer;
    this.#buffer = [];
    this.#send(spans);
  }
}
