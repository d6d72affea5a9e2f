/**
 * Test helper: an in-process OTLP/HTTP collector on 127.0.0.1 (port 0). It
 * keeps the spans POSTed to /v1/traces (JSON), the paths of every request,
 * and counts TCP connections (a raw listener in front of the HTTP server),
 * so a test can also check that nothing connected at all.
 *
 * @module
 */

/** A span as OTLP JSON has it, with its resource's attributes. */
export interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number; message?: string };
  resource: Record<string, unknown>;
}

/** A running collector. */
export interface Collector {
  /** `http://127.0.0.1:PORT`, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans: CollectedSpan[];
  /** Paths of every request received (/v1/traces, /v1/logs, ...). */
  paths: string[];
  /** Bodies of every request received, as text. */
  bodies: string[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Resolves once `pred` holds for the spans, or rejects after `ms`. */
  waitFor(
    pred: (spans: CollectedSpan[]) => boolean,
    ms?: number,
  ): Promise<void>;
  close(): Promise<void>;
}

function flat(attrs: { key: string; value: Record<string, unknown> }[]) {
  return Object.fromEntries(
    (attrs ?? []).map((a) => [a.key, Object.values(a.value)[0]]),
  );
}

/** The value of attribute `key` of a span. */
export function attr(span: CollectedSpan, key: string): unknown {
  return flat(span.attributes)[key];
}

/** Starts a collector. */
export function startCollector(): Collector {
  const spans: CollectedSpan[] = [];
  const paths: string[] = [];
  const bodies: string[] = [];
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      paths.push(new URL(req.url).pathname);
      const text = await req.text();
      bodies.push(text);
      if (
        new URL(req.url).pathname === "/v1/traces" &&
        req.headers.get("content-type")?.includes("json")
      ) {
        for (const rs of JSON.parse(text).resourceSpans ?? []) {
          const resource = flat(rs.resource?.attributes ?? []);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) spans.push({ ...s, resource });
          }
        }
      }
      return Response.json({});
    },
  );
  // Every connection passes through here first, to be counted.
  const front = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const pipes: Promise<unknown>[] = [];
  const accepting = (async () => {
    for await (const conn of front) {
      accepted++;
      const up = await Deno.connect({
        hostname: "127.0.0.1",
        port: http.addr.port,
      });
      pipes.push(
        conn.readable.pipeTo(up.writable).catch(() => {}),
        up.readable.pipeTo(conn.writable).catch(() => {}),
      );
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${front.addr.port}`,
    spans,
    paths,
    bodies,
    connections: () => accepted,
    async waitFor(pred, ms = 15_000) {
      const until = Date.now() + ms;
      while (!pred(spans)) {
        if (Date.now() > until) {
          throw new Error(
            `the collector did not get the expected spans within ${ms} ms; got ${
              JSON.stringify(
                spans.map((s) => [s.name, s.spanId, s.parentSpanId]),
              )
            }`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      front.close();
      await accepting;
      await http.shutdown();
      await Promise.allSettled(pipes);
    },
  };
}
