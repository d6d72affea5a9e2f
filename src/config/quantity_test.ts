import assert from "node:assert/strict";
import { parseByteSize, parseQuantity } from "./quantity.ts";

Deno.test("parseQuantity() reads Kubernetes quantities", async (t) => {
  const cases: [string, number | null][] = [
    ["200m", 0.2],
    ["1", 1],
    ["1.5", 1.5],
    [".5", 0.5],
    ["512Mi", 512 * 2 ** 20],
    ["1Gi", 2 ** 30],
    ["2k", 2000],
    ["1e3", 1000],
    ["+1", 1],
    ["-1", null],
    ["1MB", null],
    ["m", null],
    ["", null],
    ["1 Gi", null],
  ];
  for (const [input, want] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.equal(parseQuantity(input), want);
    });
  }
});

Deno.test("parseByteSize() reads byte sizes", async (t) => {
  const cases: [string | number, number | null][] = [
    ["32Mi", 32 * 2 ** 20],
    ["32MiB", 32 * 2 ** 20],
    ["10MB", 10_000_000],
    ["10mb", 10_000_000],
    ["1k", 1000],
    ["1Ki", 1024],
    ["1.5Ki", 1536],
    ["1Gi", 2 ** 30],
    ["100", 100],
    ["100B", 100],
    [1048576, 1048576],
    [0, 0],
    [1.5, null],
    [-1, null],
    ["-1", null],
    ["10XB", null],
    ["MB", null],
    ["", null],
  ];
  for (const [input, want] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.equal(parseByteSize(input), want);
    });
  }
});
