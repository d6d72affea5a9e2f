import assert from "node:assert/strict";
import { LineBuffer } from "./line_buffer.ts";

function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("LineBuffer batches lines until the timer fires", async () => {
  const chunks: string[] = [];
  const buf = new LineBuffer((c) => chunks.push(c), { delayMs: 0 });
  buf.push(["a"]);
  buf.push(["b", "c"]);
  assert.deepEqual(chunks, []);
  await tick(5);
  assert.deepEqual(chunks, ["a\nb\nc\n"]);
  buf.push(["d"]);
  await tick(5);
  assert.deepEqual(chunks, ["a\nb\nc\n", "d\n"]);
});

Deno.test("LineBuffer flushes at once when maxBytes is reached", () => {
  const chunks: string[] = [];
  const buf = new LineBuffer((c) => chunks.push(c), {
    maxBytes: 11,
    delayMs: 60_000,
  });
  buf.push(["1234"]);
  assert.equal(buf.size, 5);
  buf.push(["5678"]);
  assert.deepEqual(chunks, []);
  buf.push(["9"]);
  assert.deepEqual(chunks, ["1234\n5678\n9\n"]);
  assert.equal(buf.size, 0);
  buf.push(["x".repeat(50)]);
  assert.deepEqual(chunks.length, 2);
});

Deno.test("LineBuffer.flushNow() empties the buffer and cancels the timer", async () => {
  const chunks: string[] = [];
  const buf = new LineBuffer((c) => chunks.push(c), { delayMs: 0 });
  buf.flushNow();
  buf.push([]);
  assert.deepEqual(chunks, []);
  buf.push(["a"]);
  buf.flushNow();
  assert.deepEqual(chunks, ["a\n"]);
  await tick(5);
  assert.deepEqual(chunks, ["a\n"]);
});

Deno.test("LineBuffer swallows errors of flush", async () => {
  const buf = new LineBuffer(() => {
    throw new Error("closed");
  }, { delayMs: 0 });
  buf.push(["a"]);
  buf.flushNow();
  buf.push(["b"]);
  await tick(5);
});

Deno.test({
  name: "LineBuffer timer does not keep the process alive",
  ignore: Deno.permissions.querySync({ name: "run" }).state !== "granted",
}, async () => {
  const code = `
    import { LineBuffer } from ${
    JSON.stringify(import.meta.resolve("./line_buffer.ts"))
  };
    new LineBuffer(() => {}, { delayMs: 60000 }).push(["x"]);
  `;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "null",
    stderr: "piped",
  });
  const start = performance.now();
  const out = await cmd.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.ok(performance.now() - start < 30_000);
});
