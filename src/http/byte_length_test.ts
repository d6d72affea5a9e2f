import assert from "node:assert/strict";
import { utf8ByteLength } from "./byte_length.ts";

Deno.test("utf8ByteLength() matches TextEncoder for ASCII, 2-, 3- and 4-byte characters", () => {
  const encoder = new TextEncoder();
  for (
    const s of [
      "",
      "abc",
      "é",
      "日本",
      "😀",
      "a😀é日",
      "x".repeat(20_000) + "é",
    ]
  ) {
    assert.equal(
      utf8ByteLength(s),
      encoder.encode(s).byteLength,
      JSON.stringify(s.slice(0, 10)),
    );
  }
});
