/**
 * Cost budget (issue 17), log hand-off between processes: a replica's batch
 * of log lines crosses the Unix socket as one `{ type: "log", chunk }`
 * message in a length-prefixed node:v8 frame (`deno task bench:stages`).
 * Per-line costs are the batch's divided by its lines.
 *
 * @module
 */

import { SAMPLE_ACCESS_LINE as line } from "../../log/_bench_access_line.ts";
import { encodeFrame, FrameDecoder } from "./frames.ts";

const chunk = (lines: number) => `${line}\n`.repeat(lines);
const one = [{ type: "log", chunk: chunk(1) }];
const hundred = [{ type: "log", chunk: chunk(100) }];
const oneFrame = encodeFrame(one);
const hundredFrame = encodeFrame(hundred);
const decoder = new FrameDecoder();

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
