/**
 * Server-sent events for `GET /apis/<name>/logs`: one `data:` event per log
 * line, and a comment every 15 s so dead connections are noticed.
 *
 * @module
 */

/** Options of {@linkcode sseResponse}. */
export interface SseOptions {
  /** Lines to send first (history). */
  initial: readonly string[];
  /** Subscribes to new lines; returns the unsubscribe function. */
  subscribe(fn: (line: string) => void): () => void;
  /** Ends the stream when aborted (the request's signal). */
  signal: AbortSignal;
  /** Milliseconds between keep-alive comments (default 15000). */
  keepAliveMs?: number;
}

const encoder = new TextEncoder();

/** Encodes one line as an SSE event (a line holds no newline). */
export function sseEvent(line: string): Uint8Array {
  return encoder.encode(`data: ${line.replaceAll("\r", "")}\n\n`);
}

/**
 * Builds a `text/event-stream` response that follows `subscribe` until the
 * client goes away.
 *
 * @returns The streaming response.
 */
export function sseResponse(opts: SseOptions): Response {
  let cleanup = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const line of opts.initial) controller.enqueue(sseEvent(line));
      const unsubscribe = opts.subscribe((line) => {
        try {
          controller.enqueue(sseEvent(line));
        } catch {
          cleanup();
        }
      });
      const timer = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(": keep-alive\n\n"));
        } catch {
          cleanup();
        }
      }, opts.keepAliveMs ?? 15_000);
      const onAbort = () => {
        cleanup();
        try {
          controller.close();
        } catch {
          // Already closed.
        }
      };
      cleanup = () => {
        unsubscribe();
        clearInterval(timer);
        opts.signal.removeEventListener("abort", onAbort);
      };
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener("abort", onAbort);
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}

/**
 * Reads the `data:` payloads of an event stream, one per event.
 *
 * @param body The response body.
 * @returns The payloads, as they arrive.
 */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(l.startsWith("data: ") ? 6 : 5));
        if (data.length > 0) yield data.join("\n");
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
