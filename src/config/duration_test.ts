import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "./duration.ts";

Deno.test("parseDuration() reads Go durations and integer seconds", async (t) => {
  const cases: [string | number, number | null][] = [
    ["1m30s", 90_000],
    ["500ms", 500],
    ["10s", 10_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1.5s", 1_500],
    ["2h45m", 9_900_000],
    ["250us", 0.25],
    ["1000000ns", 1],
    ["60", 60_000],
    [" 30s ", 30_000],
    [60, 60_000],
    [0, 0],
    ["0", 0],
    ["0s", 0],
    ["", null],
    ["10", 10_000],
    ["10 s", null],
    ["-5s", null],
    ["5d", null],
    ["s", null],
    ["1m30", null],
    [-1, null],
    [1.5, null],
    ["abc", null],
  ];
  for (const [input, want] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.equal(parseDuration(input), want);
    });
  }
});

Deno.test("formatDuration() writes the short Go form", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(100), "100ms");
  assert.equal(formatDuration(1_000), "1s");
  assert.equal(formatDuration(1_500), "1.5s");
  assert.equal(formatDuration(90_000), "1m30s");
  assert.equal(formatDuration(300_000), "5m");
  assert.equal(formatDuration(3_660_000), "1h1m");
});
