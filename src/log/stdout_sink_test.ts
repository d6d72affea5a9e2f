import assert from "node:assert/strict";
import { StdoutSink } from "./stdout_sink.ts";
import type { SinkWriter } from "./stdout_sink.ts";

/** A writer that takes at most `maxPerWrite` bytes per call and can be paused. */
class FakeWriter implements SinkWriter {
  out = "";
  calls = 0;
  #decoder = new TextDecoder();
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => {};

  constructor(readonly maxPerWrite = Infinity) {}

  pause(): void {
    this.#gate = new Promise((resolve) => this.#open = resolve);
  }

  resume(): void {
    this.#open();
  }

  async write(p: Uint8Array): Promise<number> {
    await this.#gate;
    this.calls++;
    const n = Math.min(p.length, this.maxPerWrite);
    this.out += this.#decoder.decode(p.subarray(0, n), { stream: true });
    return n;
  }
}

Deno.test("StdoutSink writes chunks in order with partial writes", async () => {
  const writer = new FakeWriter(3);
  const sink = new StdoutSink({ writer });
  sink.write('{"a":1}\n');
  sink.write("é€😀\n");
  sink.write("");
  await sink.flush();
  assert.equal(writer.out, '{"a":1}\né€😀\n');
  assert.ok(writer.calls > 3);
  assert.equal(sink.queuedBytes, 0);
});

Deno.test("StdoutSink coalesces queued chunks into one write", async () => {
  const writer = new FakeWriter();
  const sink = new StdoutSink({ writer });
  writer.pause();
  for (let i = 0; i < 100; i++) sink.write(`${i}\n`);
  writer.resume();
  await sink.flush();
  assert.equal(writer.calls, 2);
  assert.equal(writer.out.split("\n").length, 101);
});

Deno.test("StdoutSink drops chunks over the bound and reports them once drained", async () => {
  const writer = new FakeWriter();
  const sink = new StdoutSink({
    writer,
    maxQueuedBytes: 10,
    now: () => new Date(0),
  });
  writer.pause();
  sink.write("12345678\n"); // 9 bytes: taken
  sink.write("a\nb\n"); // would exceed 10: dropped
  sink.write("c\n"); // dropped
  sink.write("\n"); // 10 bytes in total: taken
  assert.equal(sink.dropped, 2);
  assert.equal(sink.droppedLines, 3);
  writer.resume();
  await sink.flush();
  const lines = writer.out.trimEnd().split("\n");
  assert.deepEqual(lines.slice(0, 2), ["12345678", ""]);
  const warn = JSON.parse(lines[2] ?? "");
  assert.equal(warn.levelname, "WARNING");
  assert.equal(warn.droppedLines, 3);
  assert.equal(warn.droppedChunks, 2);
  assert.equal(lines.length, 3);
  // Reported once: the next write does not repeat the warning.
  sink.write("d\n");
  await sink.flush();
  assert.ok(writer.out.endsWith("}\nd\n"));
});

Deno.test("StdoutSink write() does not wait for a slow writer", () => {
  const writer = new FakeWriter();
  writer.pause();
  const sink = new StdoutSink({ writer, maxQueuedBytes: 1024 });
  const start = performance.now();
  for (let i = 0; i < 10_000; i++) sink.write("x".repeat(99) + "\n");
  assert.ok(performance.now() - start < 1000);
  assert.ok(sink.queuedBytes <= 1024);
  assert.equal(sink.dropped, 10_000 - 10);
  writer.resume();
  return sink.flush();
});

Deno.test("StdoutSink stops silently on BrokenPipe", async () => {
  let calls = 0;
  const sink = new StdoutSink({
    writer: {
      write(): Promise<number> {
        calls++;
        return Promise.reject(new Deno.errors.BrokenPipe("Broken pipe"));
      },
    },
  });
  sink.write("a\n");
  sink.write("b\n");
  await sink.flush();
  assert.equal(sink.closed, true);
  sink.write("c\n");
  await sink.flush();
  assert.equal(calls, 1);
  assert.equal(sink.queuedBytes, 0);
});

Deno.test("StdoutSink closes on a writer that throws synchronously or stalls", async () => {
  const throwing = new StdoutSink({
    writer: {
      write(): Promise<number> {
        throw new Error("EPIPE");
      },
    },
  });
  throwing.write("a\n");
  await throwing.flush();
  assert.equal(throwing.closed, true);
  const stalled = new StdoutSink({
    writer: { write: () => Promise.resolve(0) },
  });
  stalled.write("a\n");
  await stalled.flush();
  assert.equal(stalled.closed, true);
});

Deno.test("StdoutSink in pretty mode renders JSON lines", async () => {
  const writer = new FakeWriter();
  const sink = new StdoutSink({ writer, pretty: true, color: false });
  sink.write(
    '{"asctime":"2024-05-01T12:00:01.123Z","levelname":"INFO","message":"hi","labels":{"apiName":"a"},"process":1}\nplain\n',
  );
  await sink.flush();
  assert.equal(writer.out, "12:00:01.123 INFO  [a] hi\nplain\n");
});

Deno.test("StdoutSink.flush() resolves at once when idle", async () => {
  await new StdoutSink({ writer: new FakeWriter() }).flush();
});
