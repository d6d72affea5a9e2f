import assert from "node:assert/strict";
import { MAX_OUTPUT_LINE, OutputLines } from "./output_lines.ts";

/** Runs `chunks` through a splitter of `max`; lines as "L:", pieces as "P:". */
function split(chunks: string[], max: number): string[] {
  const out: string[] = [];
  const lines = new OutputLines({
    lines: (t) => out.push(`L:${t}`),
    piece: (t) => out.push(`P:${t}`),
  }, max);
  for (const chunk of chunks) lines.push(chunk);
  lines.end();
  return out;
}

Deno.test("OutputLines passes short lines on as written, joined across chunks", () => {
  assert.deepEqual(split(["a\nb", "c\nd\n", "e"], 8), [
    "L:a\n",
    "L:bc\nd\n",
    "L:e\n",
  ]);
  assert.deepEqual(split(["abcd\n"], 4), ["L:abcd\n"]);
});

Deno.test("OutputLines cuts a line longer than the limit into pieces, its last part too", () => {
  assert.deepEqual(split(["ab\nabcdefghij\ncd\n"], 4), [
    "L:ab\n",
    "P:abcd",
    "P:efgh",
    "P:ij",
    "L:cd\n",
  ]);
  // Over several chunks, never ended: the pieces go as they fill.
  assert.deepEqual(split(["abc", "def", "ghi"], 4), [
    "P:abcd",
    "P:efgh",
    "P:i",
  ]);
  // A cut line's end arrives later: still a piece, then lines again.
  assert.deepEqual(split(["abcde", "f\ng\n"], 4), [
    "P:abcd",
    "P:ef",
    "L:g\n",
  ]);
});

Deno.test("OutputLines holds at most the limit however much arrives without a newline", () => {
  let held = 0;
  let pieces = 0;
  const lines = new OutputLines({
    lines: () => {},
    piece: (t) => {
      assert.ok(t.length <= MAX_OUTPUT_LINE, `piece of ${t.length}`);
      held += t.length;
      pieces++;
    },
  });
  const chunk = "x".repeat(65_537);
  for (let i = 0; i < 64; i++) lines.push(chunk);
  // All but the last unfinished piece has been passed on.
  assert.ok(64 * 65_537 - held < MAX_OUTPUT_LINE);
  lines.end();
  assert.equal(held, 64 * 65_537);
  assert.equal(pieces, Math.ceil(64 * 65_537 / MAX_OUTPUT_LINE));
});
