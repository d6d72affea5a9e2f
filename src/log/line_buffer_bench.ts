/**
 * Cost budget (issue 17), log hand-off in the replica: queueing one access
 * line in the replica's LineBuffer (runtime.ts: 256 KiB or 10 ms batches),
 * with the join of each full batch spread over its lines
 * (`deno task bench:stages`). Encoding the batch as a frame is in
 * src/grpc/common/frames_bench.ts.
 *
 * @module
 */

import { SAMPLE_ACCESS_RECORD as line } from "./_bench_access_line.ts";
import { LineBuffer } from "./line_buffer.ts";

let flushed = 0;
const runtimeLike = new LineBuffer((chunk) => flushed += chunk.length, {
  maxBytes: 256 * 1024,
  delayMs: 10,
});
// 100 lines a batch: what the 10 ms timer collects at ~10k requests/s.
const hundred = new LineBuffer((chunk) => flushed += chunk.length, {
  maxBytes: 100 * (line.length + 1),
  delayMs: 10,
});

Deno.bench({
  name: "log hand-off: LineBuffer.push(access record), 256 KiB batches",
  group: "log hand-off (replica)",
  baseline: true,
}, () => {
  runtimeLike.push([line]);
});

Deno.bench({
  name: "log hand-off: LineBuffer.push(access record), 100-line batches",
  group: "log hand-off (replica)",
}, () => {
  hundred.push([line]);
});
