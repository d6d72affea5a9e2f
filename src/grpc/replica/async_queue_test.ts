import assert from "node:assert/strict";
import { AsyncQueue } from "./async_queue.ts";

Deno.test("AsyncQueue delivers each item as it arrives, then ends", async () => {
  const q = new AsyncQueue<number>();
  const first = q.next();
  q.push(1);
  assert.deepEqual(await first, { value: 1, done: false });
  q.push(2);
  q.end();
  q.push(3);
  const rest: number[] = [];
  for await (const v of q) rest.push(v);
  assert.deepEqual(rest, [2]);
});

Deno.test("AsyncQueue.fail() rejects a pending read", async () => {
  const q = new AsyncQueue<number>();
  const pending = q.next();
  q.fail(new Error("cancelled"));
  await assert.rejects(pending, /cancelled/);
  await assert.rejects(q.next(), /cancelled/);
});
