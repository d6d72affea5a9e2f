import assert from "node:assert/strict";
import {
  encodeCallFrame,
  encodeFrame,
  encodeTextFrame,
  FrameDecoder,
  type FrameSink,
  FrameTooLarge,
  FrameWriter,
  MAX_FRAME_BYTES,
} from "./frames.ts";

/** A protobuf-es message object as a replica posts it. */
const MESSAGE = {
  type: "grpc.message",
  callId: 7,
  message: {
    $typeName: "e2e.v1.Res",
    text: "HI",
    count: 3n,
    data: new Uint8Array([1, 2, 3]),
    at: {
      $typeName: "google.protobuf.Timestamp",
      seconds: 1n << 40n,
      nanos: 5,
    },
    tags: ["a", "b"],
    missing: undefined,
  },
};

Deno.test("frames: a batch round trips with bigint, Uint8Array and $typeName", () => {
  const frame = encodeFrame([MESSAGE, { type: "grpc.end", callId: 7 }]);
  assert.equal(new DataView(frame.buffer).getUint32(0), frame.length - 4);
  const out = new FrameDecoder().push(frame);
  assert.deepEqual(out, [MESSAGE, { type: "grpc.end", callId: 7 }]);
  const data = (out[0] as typeof MESSAGE).message.data;
  assert.ok(data instanceof Uint8Array);
});

Deno.test("frames: a view sends only its bytes", () => {
  const big = new Uint8Array(1 << 20).fill(1);
  const frame = encodeFrame([{ data: big.subarray(10, 20) }]);
  assert.ok(frame.length < 100, `${frame.length} bytes`);
  const [back] = new FrameDecoder().push(frame) as { data: Uint8Array }[];
  assert.equal(back!.data.length, 10);
});

Deno.test("frames: the decoder joins frames split anywhere and splits joined ones", () => {
  const a = encodeFrame([{ n: 1 }, { n: 2 }]);
  const b = encodeFrame([{ n: 3, data: new Uint8Array(1000).fill(9) }]);
  const stream = new Uint8Array(a.length + b.length);
  stream.set(a);
  stream.set(b, a.length);
  for (const size of [1, 2, 3, 5, 64, stream.length]) {
    const decoder = new FrameDecoder();
    const out: unknown[] = [];
    for (let i = 0; i < stream.length; i += size) {
      out.push(...decoder.push(stream.slice(i, i + size)));
    }
    assert.deepEqual(
      out.map((m) => (m as { n: number }).n),
      [1, 2, 3],
      `chunks of ${size}`,
    );
    assert.equal(decoder.buffered, 0);
  }
});

Deno.test("frames: a length word past 30 bits names a kind the channel must take", () => {
  assert.equal(MAX_FRAME_BYTES, 2 ** 30 - 1);
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, MAX_FRAME_BYTES + 1);
  assert.throws(() => new FrameDecoder().push(head), /Call frame on a channel/);
  new DataView(head.buffer).setUint32(0, 0xc000_0000);
  assert.throws(
    () => new FrameDecoder({ text: true, calls: (m) => m }).push(head),
    /unknown kind/,
  );
});

/** A sink that records writes, taking at most `max` bytes per write. */
function recordingSink(max = Infinity) {
  const writes: Uint8Array[] = [];
  const sink: FrameSink = {
    write: (p) => {
      const n = Math.min(p.length, max);
      writes.push(p.slice(0, n));
      return Promise.resolve(n);
    },
  };
  const decode = () => {
    const decoder = new FrameDecoder({ text: true });
    return writes.flatMap((w) => decoder.push(w));
  };
  return { writes, sink, decode };
}

Deno.test("frames: the writer sends what is queued in one turn as one frame, in order", async () => {
  const { writes, sink, decode } = recordingSink();
  const writer = new FrameWriter(sink);
  for (let i = 0; i < 100; i++) writer.send({ i });
  await writer.flushed();
  assert.equal(writes.length, 1);
  writer.send({ i: 100 });
  await writer.flushed();
  assert.equal(writes.length, 2);
  assert.deepEqual(
    decode().map((m) => (m as { i: number }).i),
    Array.from({ length: 101 }, (_, i) => i),
  );
});

Deno.test("frames: the writer completes short writes", async () => {
  const { sink, decode } = recordingSink(7);
  const writer = new FrameWriter(sink);
  writer.send({ data: new Uint8Array(100).fill(3) });
  await writer.flushed();
  assert.equal((decode()[0] as { data: Uint8Array }).data.length, 100);
});

Deno.test("frames: a message that cannot be cloned is dropped alone", async () => {
  const { sink, decode } = recordingSink();
  const dropped: unknown[] = [];
  const writer = new FrameWriter(sink, {
    onDropped: (msg) => dropped.push(msg),
  });
  writer.send({ n: 1 });
  writer.send({ n: 2, f: () => {} });
  writer.send({ n: 3 });
  await writer.flushed();
  assert.deepEqual(decode(), [{ n: 1 }, { n: 3 }]);
  assert.equal(dropped.length, 1);
});

Deno.test("frames: after a write error the writer reports it once and drops the rest", async () => {
  const errors: unknown[] = [];
  let writes = 0;
  const writer = new FrameWriter({
    write: () => {
      writes++;
      return Promise.reject(new Deno.errors.BrokenPipe("gone"));
    },
  }, { onError: (e) => errors.push(e) });
  writer.send({ n: 1 });
  await writer.flushed();
  assert.ok(writer.failed);
  writer.send({ n: 2 });
  await writer.flushed();
  assert.equal(writes, 1);
  assert.equal(errors.length, 1);
});

Deno.test("frames: a text frame decodes to its string, ASCII or not, split anywhere", () => {
  for (const text of ['{"a":1}\n', "caf\u00e9 \u{1F600} \u00fc\n", ""]) {
    const frame = encodeTextFrame(text);
    const length = new DataView(frame.buffer).getUint32(0);
    assert.equal(length & 0x7fff_ffff, frame.length - 4);
    assert.ok(length >= 0x8000_0000, "the text bit is set");
    const decoder = new FrameDecoder({ text: true });
    const out: unknown[] = [];
    for (let i = 0; i < frame.length; i += 3) {
      out.push(...decoder.push(frame.slice(i, i + 3)));
    }
    assert.deepEqual(out, [text]);
  }
});

Deno.test("frames: a decoder without text frames refuses one", () => {
  assert.throws(
    () => new FrameDecoder().push(encodeTextFrame("forged\n")),
    TypeError,
  );
});

Deno.test("frames: texts and messages queued together arrive in order", async () => {
  const { writes, sink, decode } = recordingSink();
  const writer = new FrameWriter(sink);
  writer.send({ n: 1 });
  writer.sendText("a\n");
  writer.sendText("b\n");
  writer.send({ n: 2 });
  writer.send({ n: 3 });
  await writer.flushed();
  assert.equal(writes.length, 1, "one write for the turn");
  assert.deepEqual(decode(), [{ n: 1 }, "a\n", "b\n", { n: 2 }, { n: 3 }]);
});

Deno.test("frames: a call frame carries JSON and the protobuf bytes raw, split anywhere", () => {
  const calls = [
    {
      type: "grpc.message",
      callId: 7,
      message: new Uint8Array([10, 2, 104, 105]),
    },
    { type: "grpc.message", callId: 8, message: new Uint8Array(0) },
    {
      type: "grpc.done",
      callId: 7,
      code: 0,
      details: "caf\u00e9",
      trailers: { a: ["1", "2"] },
    },
    {
      type: "grpc.start",
      callId: 9,
      deadline: null,
      metadata: {},
      peer: "::1",
    },
  ];
  const wrap = (m: unknown) => ({ type: "grpc", msg: m });
  for (const msg of calls) {
    const frame = encodeCallFrame(msg)!;
    const word = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
    assert.equal(word >>> 30, 1, "the call kind");
    assert.equal(word & MAX_FRAME_BYTES, frame.length - 4);
    const decoder = new FrameDecoder({ calls: wrap });
    const out: unknown[] = [];
    for (let i = 0; i < frame.length; i += 3) {
      out.push(...decoder.push(frame.slice(i, i + 3)));
    }
    assert.deepEqual(out, [wrap(msg)]);
  }
});

Deno.test("frames: a call whose message is not bytes does not fit a call frame", () => {
  assert.equal(
    encodeCallFrame({
      type: "grpc.message",
      callId: 1,
      message: { text: "x" },
    }),
    null,
  );
});

Deno.test("frames: a decoder without call frames refuses one; forged ones are refused", () => {
  const frame = encodeCallFrame({ type: "grpc.end", callId: 1 })!;
  assert.throws(() => new FrameDecoder({ text: true }).push(frame), TypeError);
  const calls = (m: unknown) => m;
  // JSON length past the frame's end.
  const overrun = frame.slice();
  new DataView(overrun.buffer).setUint32(4, 1000);
  assert.throws(() => new FrameDecoder({ calls }).push(overrun), /overruns/);
  // Bytes after the JSON that the word does not announce.
  const sneaky = new Uint8Array(frame.length + 2);
  sneaky.set(frame);
  new DataView(sneaky.buffer).setUint32(0, 0x4000_0000 + frame.length - 2);
  assert.throws(
    () => new FrameDecoder({ calls }).push(sneaky),
    /does not announce/,
  );
  // Not an object.
  const list = encodeTextFrame("[1]");
  const forged = new Uint8Array(list.length + 4);
  new DataView(forged.buffer).setUint32(0, 0x4000_0000 + list.length);
  new DataView(forged.buffer).setUint32(4, list.length - 4);
  forged.set(list.subarray(4), 8);
  assert.throws(
    () => new FrameDecoder({ calls }).push(forged),
    /not a message object/,
  );
});

Deno.test("frames: the writer sends calls as call frames, or the whole by node:v8, in order", async () => {
  const { writes, sink } = recordingSink();
  const writer = new FrameWriter(sink);
  const bytes = {
    type: "grpc.message",
    callId: 1,
    message: new Uint8Array([1]),
  };
  const plain = { type: "grpc.message", callId: 1, message: { n: 1n } };
  const big = { type: "grpc.done", callId: 1, code: 0, details: "", n: 1n };
  writer.send({ n: 1 });
  writer.sendCall(bytes, { type: "grpc", msg: bytes });
  writer.sendCall(plain, { type: "grpc", msg: plain });
  writer.sendCall(big, { type: "grpc", msg: big });
  await writer.flushed();
  assert.equal(writes.length, 1, "one write for the turn");
  const decoder = new FrameDecoder({
    calls: (m) => ({ type: "grpc", msg: m }),
  });
  assert.deepEqual(writes.flatMap((w) => decoder.push(w)), [
    { n: 1 },
    { type: "grpc", msg: bytes },
    { type: "grpc", msg: plain },
    { type: "grpc", msg: big },
  ]);
});

Deno.test("frames: a frame over the decoder's limit fails at its length word, naming its size and message type", () => {
  let asked = 0;
  const decoder = new FrameDecoder({
    text: true,
    maxFrameBytes: () => (asked++, 1000),
    minFrameBytes: 100,
  });
  // Small frames never ask for the limit (the hot path).
  assert.deepEqual(decoder.push(encodeFrame([{ type: "load" }])), [{
    type: "load",
  }]);
  assert.equal(asked, 0);
  const whole = encodeFrame([{
    type: "http.response",
    id: 1,
    pad: "x".repeat(2000),
  }]);
  // Only the length word and the start of the body have arrived.
  assert.throws(
    () => decoder.push(whole.subarray(0, 64)),
    (e: unknown) =>
      e instanceof FrameTooLarge && e.bytes === whole.length - 4 &&
      e.limit === 1000 && e.messageType === "http.response" &&
      e.message ===
        `sent a frame of ${
          whole.length - 4
        } bytes (a "http.response" message), over the limit of 1000 bytes`,
  );
  const text = new FrameDecoder({ text: true, maxFrameBytes: () => 10 });
  assert.throws(
    () => text.push(encodeTextFrame("a line longer than ten\n")),
    /sent a frame of 23 bytes \(a "log" message\), over the limit of 10 bytes/,
  );
  const raw = new Uint8Array(8);
  new DataView(raw.buffer).setUint32(0, 0x3fff_ffff);
  assert.throws(
    () => new FrameDecoder({ maxFrameBytes: () => 10 }).push(raw),
    /sent a frame of 1073741823 bytes \(a node:v8 batch frame\), over the limit of 10 bytes/,
  );
});

Deno.test("frames: the writer splits a batch over its frame limit into a frame per message and drops one alone over it", async () => {
  const { writes, sink } = recordingSink();
  const dropped: unknown[] = [];
  const writer = new FrameWriter(sink, {
    onDropped: (msg, error) => dropped.push([msg, String(error)]),
  }, { maxFrameBytes: 1500 });
  writer.send({ n: 1, data: new Uint8Array(1000) });
  writer.send({ n: 2, data: new Uint8Array(1000) });
  writer.send({ n: 3, data: new Uint8Array(2000) });
  writer.sendText("y".repeat(2000));
  writer.send({ n: 4 });
  await writer.flushed();
  assert.equal(writes.length, 1);
  const decoder = new FrameDecoder({ text: true, maxFrameBytes: () => 1500 });
  const got = decoder.push(writes[0]!) as { n: number }[];
  assert.deepEqual(got.map((m) => m.n), [1, 2, 4]);
  assert.equal(dropped.length, 2);
  assert.match(
    String((dropped[0] as unknown[])[1]),
    /Frame of \d+ bytes exceeds the limit of 1500 bytes/,
  );
});

Deno.test("frames: a large frame read in pieces decodes whole, with the frames around it, also from a reused read buffer", () => {
  const big = new Uint8Array(3 << 20).map((_, i) => i % 251);
  const stream = new Uint8Array([
    ...encodeFrame([{ n: 1 }]),
    ...encodeFrame([{ n: 2, big }]),
    ...encodeTextFrame("after\n"),
    ...encodeFrame([{ n: 3 }]),
  ]);
  for (const borrowed of [false, true]) {
    const decoder = new FrameDecoder({ text: true });
    const got: unknown[] = [];
    // Borrowed: one read buffer, overwritten after each push.
    const reused = new Uint8Array(65_000);
    for (let at = 0; at < stream.length; at += 65_000) {
      const piece = stream.subarray(at, at + 65_000);
      reused.set(piece);
      got.push(
        ...(borrowed
          ? decoder.push(reused.subarray(0, piece.length), true)
          : decoder.push(piece.slice())),
      );
      reused.fill(0xee);
      if (got.length === 1) assert.ok(decoder.buffered > 0);
    }
    assert.equal(decoder.buffered, 0);
    assert.equal(got.length, 4);
    assert.deepEqual(got[0], { n: 1 });
    assert.deepEqual((got[1] as { big: Uint8Array }).big, big);
    assert.deepEqual(got.slice(2), ["after\n", { n: 3 }]);
  }
});

Deno.test("frames: messages sent alone take a frame each, in order, written as they are encoded", async () => {
  const { writes, sink } = recordingSink();
  const writer = new FrameWriter(sink);
  writer.send({ n: 1 });
  for (let n = 2; n <= 4; n++) {
    writer.sendAlone({ n, data: new Uint8Array(2 << 20) });
  }
  writer.send({ n: 5 });
  await writer.flushed();
  // {n: 1} joins the first large frame's write; each large one is written
  // once encoded; {n: 5} last.
  assert.equal(writes.length, 4);
  const decoder = new FrameDecoder();
  const got = writes.flatMap((w) => decoder.push(w)) as { n: number }[];
  assert.deepEqual(got.map((m) => m.n), [1, 2, 3, 4, 5]);
});
