import assert from "node:assert/strict";
import {
  forwardBodyLimit,
  MIN_FRAME_BYTES,
  replicaFrameLimit,
  splitLogBatch,
} from "./channel_limits.ts";

const MIB = 1 << 20;

Deno.test("channel limits: the frame limit covers the largest body limit, and never goes below 65 MiB", () => {
  assert.equal(replicaFrameLimit(32 * MIB), 65 * MIB);
  assert.equal(replicaFrameLimit(0), MIN_FRAME_BYTES);
  assert.equal(replicaFrameLimit(200 * MIB), 201 * MIB);
  // What a replica sends in a chained call fits whatever the other APIs.
  for (const own of [MIB, 32 * MIB, 200 * MIB]) {
    assert.ok(forwardBodyLimit(own) < replicaFrameLimit(own));
  }
});

Deno.test("channel limits: a log batch over the limit is cut at line ends, a longer line into lines of its own", () => {
  assert.deepEqual(splitLogBatch("a\nb\n", 10), ["a\nb\n"]);
  assert.deepEqual(splitLogBatch("aaaa\nbbbb\ncccc\n", 10), [
    "aaaa\nbbbb\n",
    "cccc\n",
  ]);
  const long = "x".repeat(25) + "\n";
  const pieces = splitLogBatch("a\n" + long, 10);
  assert.deepEqual(pieces, [
    "a\n",
    "xxxxxxxxx\n",
    "xxxxxxxxx\n",
    "xxxxxxx\n",
  ]);
  for (const p of pieces) assert.ok(p.length <= 10 && p.endsWith("\n"));
  // Never inside a surrogate pair.
  const emoji = "😀".repeat(10) + "\n";
  const cut = splitLogBatch(emoji, 6);
  assert.equal(cut.join("").replaceAll("\n", ""), "😀".repeat(10));
  for (const p of cut) assert.ok(p.length <= 6, JSON.stringify(p));
});
