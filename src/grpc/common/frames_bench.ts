/**
 * Cost budget (issue 17), log hand-off between processes: a replica's batch
 * of log lines crosses the Unix socket as one text frame (UTF-8); the
 * node:v8 frame of a `{ type: "log", chunk }` message it replaced is kept for
 * comparison (`deno task bench:stages`). Per-line costs are the batch's
 * divided by its lines.
 *
 * @module
 */

// What a replica's log batch holds under load: access records.
import { SAMPLE_ACCESS_RECORD as line } from "../../log/_bench_access_line.ts";
import { encodeFrame, encodeTextFrame, FrameDecoder } from "./frames.ts";

const chunk = (lines: number) => `${line}\n`.repeat(lines);
const one = [{ type: "log", chunk: chunk(1) }];
const hundred = [{ type: "log", chunk: chunk(100) }];
const oneFrame = encodeFrame(one);
const hundredFrame = encodeFrame(hundred);
const decoder = new FrameDecoder();
const hundredText = encodeTextFrame(chunk(100));
const textDecoder = new FrameDecoder({ text: true });

Deno.bench({
  name: "log hand-off: encodeTextFrame, batch of 1 line",
  group: "log text frame encode (replica)",
  baseline: true,
}, () => {
  encodeTextFrame(chunk(1));
});

Deno.bench({
  name: "log hand-off: encodeTextFrame, batch of 100 lines",
  group: "log text frame encode (replica)",
}, () => {
  encodeTextFrame(hundred[0]!.chunk);
});

Deno.bench({
  name: "log hand-off: FrameDecoder.push text frame, batch of 100 lines",
  group: "log text frame decode (serving process)",
}, () => {
  textDecoder.push(hundredText);
});

Deno.bench({
  name: "log hand-off: encodeFrame, batch of 1 line",
  group: "log frame encode (replica)",
  baseline: true,
}, () => {
  encodeFrame(one);
});

Deno.bench({
  name: "log hand-off: encodeFrame, batch of 100 lines",
  group: "log frame encode (replica)",
}, () => {
  encodeFrame(hundred);
});

Deno.bench({
  name: "log hand-off: FrameDecoder.push, batch of 1 line",
  group: "log frame decode (serving process)",
  baseline: true,
}, () => {
  decoder.push(oneFrame);
});

Deno.bench({
  name: "log hand-off: FrameDecoder.push, batch of 100 lines",
  group: "log frame decode (serving process)",
}, () => {
  decoder.push(hundredFrame);
});
