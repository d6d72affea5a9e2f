/**
 * The contract "Streaming and server-sent events" (README), over real
 * sockets: SSE framing and fields, heartbeats, a vanishing client ends the
 * generator at once, a client that does not read pauses it, a stream is in
 * flight until it ends, request_timeout vs stream_timeout, and SIGTERM ends
 * open streams cleanly.
 */

import assert from "node:assert/strict";
import {
  fixture,
  type LogLine,
  type RunningServer,
  withServer,
} from "./_server.ts";
import { pollUntil, scrape } from "./_metrics.ts";

/** A measured number, on stderr (reported by the test run). */
function note(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text + "\n"));
}

const api = { api: "stream" };
const msg = (l: LogLine) => String(l.message);
const SSE = { accept: "text/event-stream" };

/** Reads a response body to its end as text. */
async function text(res: Response): Promise<string> {
  return await res.text();
}

/** Reads the body until `pred` holds on the text so far. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  pred: (text: string) => boolean,
): Promise<string> {
  const decoder = new TextDecoder();
  let out = "";
  while (!pred(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended early: ${JSON.stringify(out)}`);
    out += decoder.decode(value, { stream: true });
  }
  return out;
}

/** A raw connection sending one GET, so the test controls reads and close. */
async function rawGet(
  s: RunningServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  const lines = [
    `GET ${path} HTTP/1.1`,
    `host: localhost`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "",
    "",
  ];
  await conn.write(new TextEncoder().encode(lines.join("\r\n")));
  return conn;
}

async function readSome(conn: Deno.TcpConn, until: string): Promise<string> {
  const buf = new Uint8Array(64 * 1024);
  let out = "";
  while (!out.includes(until)) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`closed early: ${out}`);
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  return out;
}

const finallyOf = (s: RunningServer, tag: string, ms = 10_000) =>
  s.waitForLine((l) => msg(l) === "stream finally" && l.tag === tag, ms);

// The same project served whole (the serving process routes) or with only
// its `stream` API (whose replicas listen themselves).
const PROJECT = fixture("streaming_pair");
const ALONE = ["--api", "stream"];

for (
  const [args, where] of [
    [ALONE, "replicas listen"],
    [[], "through the serving process"],
  ] as const
) {
  Deno.test(`streaming (${where})`, () => streams([...args]));
}

async function streams(args: string[]) {
  const routed = args.length === 0;
  await withServer(PROJECT, { args }, async (s) => {
    const t = {
      step: async (what: string, fn: () => Promise<void>) => {
        note(`  ${what}`);
        await fn();
      },
    };
    await t.step(
      "Accept: text/event-stream frames each item as one event",
      async () => {
        const res = await fetch(`${s.url}/stream?mode=events`, {
          headers: { ...SSE, "last-event-id": "42" },
        });
        assert.equal(res.status, 200);
        assert.equal(
          res.headers.get("content-type"),
          "text/event-stream; charset=utf-8",
        );
        assert.equal(res.headers.get("cache-control"), "no-cache");
        assert.ok(res.headers.get("x-request-id"));
        assert.equal(
          await text(res),
          "data: hello\n\n" +
            'data: {"n":1}\n\n' +
            'event: tick\nid: 7\ndata: {"a":1}\n\n' +
            "retry: 1000\ndata: line1\ndata: line2\n\n" +
            "event: last\ndata: 42\n\n",
        );
      },
    );

    await t.step(
      "a method declared in `streams` sends events without Accept",
      async () => {
        const res = await fetch(`${s.url}/stream?mode=events`, {
          method: "PUT",
        });
        assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
        assert.match(await text(res), /^data: hello\n\n/);
      },
    );

    await t.step(
      "other requests keep the chunked stream (JSON lines)",
      async () => {
        const res = await fetch(`${s.url}/stream?mode=events`);
        assert.equal(
          res.headers.get("content-type"),
          "application/octet-stream",
        );
        assert.equal(
          await text(res),
          'hello{"n":1}\n{"event":"tick","id":"7","data":{"a":1}}\n' +
            '{"data":"line1\\nline2","retry":1000}\n{"event":"last","data":null}\n',
        );
      },
    );

    await t.step("an idle stream sends comment heartbeats", async () => {
      const res = await fetch(`${s.url}/stream?mode=idle&ms=700`, {
        headers: SSE,
      });
      const body = await text(res);
      const beats = body.split(":\n\n").length - 1;
      assert.ok(beats >= 2, JSON.stringify(body));
      assert.ok(body.endsWith("data: done\n\n"), JSON.stringify(body));
    });

    await t.step(
      "a client going away aborts req.signal and runs the generator's finally within 100 ms",
      async () => {
        const conn = await rawGet(s, "/stream?mode=ticks&ms=20&tag=gone", SSE);
        await readSome(conn, 'data: {"i":2}');
        const closedAt = Date.now();
        conn.close();
        const line = await finallyOf(s, "gone");
        const after = (line.at as number) - closedAt;
        note(`finally ${after} ms after the client closed`);
        assert.ok(after < 100, `finally ran ${after} ms after the close`);
        assert.equal(line.aborted, true);
        assert.ok((line.afterAbort as number) <= 1, JSON.stringify(line));
      },
    );

    await t.step(
      "a client that does not read pauses the generator (bounded memory)",
      async () => {
        const conn = await rawGet(s, "/stream?mode=flood&tag=slow");
        const stepsOf = async () =>
          (await (await fetch(`${s.url}/stream?mode=steps&tag=slow`)).json())
            .steps as number;
        await new Promise((r) => setTimeout(r, 1_500));
        const first = await stepsOf();
        await new Promise((r) => setTimeout(r, 1_000));
        const second = await stepsOf();
        note(
          `non-reading client: ${first} then ${second} generator steps of 1 KiB`,
        );
        assert.ok(first > 0);
        // Socket buffers and one queued chunk, not an unbounded queue.
        assert.ok(second < 16_384, `${second} steps buffered`);
        assert.ok(
          second - first < 64,
          `still producing: ${first} -> ${second}`,
        );
        conn.close();
      },
    );

    await t.step(
      "a stream is in flight until it ends; request_timeout does not cut it",
      async () => {
        await pollUntil(
          "no request in flight",
          5_000,
          async () =>
            (await scrape(s.url)).get("cortex_in_flight_requests", api) === 0,
        );
        const res = await fetch(
          `${s.url}/stream?mode=ticks&ms=100&n=20&tag=long`,
          {
            headers: SSE,
          },
        );
        const reader = res.body!.getReader();
        await readUntil(reader, (t) => t.includes('"i":0'));
        await new Promise((r) => setTimeout(r, 400));
        const during = await scrape(s.url);
        assert.ok(
          during.get("cortex_in_flight_requests", api) >= 1,
          during.text,
        );
        let rest = "";
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          rest += new TextDecoder().decode(r.value);
        }
        // 2 s of events, past the 1 s request_timeout.
        assert.match(rest, /data: \{"i":19\}\n\n$/);
        await pollUntil(
          "the stream to leave in-flight",
          5_000,
          async () =>
            (await scrape(s.url)).get("cortex_in_flight_requests", api) === 0,
        );
        const after = await scrape(s.url);
        assert.ok(after.get("cortex_stream_duration_seconds_count", api) >= 1);
        assert.ok(
          after.get("cortex_stream_first_byte_seconds_count", api) >= 1,
        );
        assert.ok(after.get("cortex_stream_duration_seconds_sum", api) >= 2);
      },
    );

    if (routed) {
      await t.step(
        "a chained call passes a stream on as it comes, and a vanishing client ends it",
        async () => {
          const started = Date.now();
          const res = await fetch(
            `${s.url}/front?mode=ticks&ms=300&n=3&tag=chained`,
            {
              headers: SSE,
            },
          );
          assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
          const reader = res.body!.getReader();
          await readUntil(reader, (t) => t.includes('"i":0'));
          const first = Date.now() - started;
          note(
            `first chained event after ${first} ms (the stream lasts 900 ms)`,
          );
          assert.ok(first < 800, `${first} ms: buffered`);
          await reader.cancel();
          await reader.closed.catch(() => {});

          // Chunked (no SSE) passes on the same way.
          const plainStart = Date.now();
          const plain = await fetch(
            `${s.url}/front?mode=ticks&ms=300&n=3&tag=plain`,
          );
          const plainReader = plain.body!.getReader();
          await readUntil(plainReader, (t) => t.includes('"i":0'));
          assert.ok(Date.now() - plainStart < 800, "chunked chain buffered");
          await plainReader.cancel();

          const conn = await rawGet(
            s,
            "/front?mode=ticks&ms=20&tag=chaingone",
            SSE,
          );
          await readSome(conn, 'data: {"i":2}');
          const closedAt = Date.now();
          conn.close();
          const line = await finallyOf(s, "chaingone");
          const after = (line.at as number) - closedAt;
          note(`chained: finally ${after} ms after the client closed`);
          assert.ok(after < 200, `finally ran ${after} ms after the close`);
          assert.equal(line.aborted, true);
        },
      );
    }

    await t.step("stream_timeout ends an endless stream cleanly", async () => {
      const started = Date.now();
      const res = await fetch(`${s.url}/stream?mode=ticks&ms=100&tag=endless`, {
        headers: SSE,
      });
      const body = await text(res); // ends without a network error
      const took = Date.now() - started;
      assert.ok(took >= 3_900 && took < 6_000, `${took} ms`);
      assert.match(body, /^data: \{"i":0\}\n\n/);
      const line = await finallyOf(s, "endless");
      assert.equal(line.reason, "TimeoutError");
    });
  });
}

Deno.test("streaming: SIGTERM lets open streams run through the grace period, then ends them cleanly", async () => {
  await withServer(PROJECT, { args: ALONE }, async (s) => {
    const res = await fetch(
      `${s.url}/stream?mode=ticks&ms=100&n=1000&tag=term`,
      {
        headers: SSE,
      },
    );
    const reader = res.body!.getReader();
    await readUntil(reader, (t) => t.includes('"i":1}'));
    const sentAt = Date.now();
    s.proc.kill("SIGTERM");
    let events = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      events += new TextDecoder().decode(r.value).split("\n\n").length - 1;
    }
    const endedAfter = Date.now() - sentAt;
    note(
      `stream ended ${endedAfter} ms after SIGTERM (grace 3 s), ${events} more events`,
    );
    assert.ok(endedAfter >= 1_500 && endedAfter < 3_000, `${endedAfter} ms`);
    assert.ok(events >= 10);
    await finallyOf(s, "term", 2_000);
    const status = await s.proc.status;
    assert.equal(status.code, 0);
  });
});
