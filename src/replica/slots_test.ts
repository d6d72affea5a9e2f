import assert from "node:assert/strict";
import { Slots } from "./slots.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("Slots runs up to size at once and queues the rest in FIFO order", async () => {
  const changes: number[] = [];
  const slots = new Slots(2, (d) => changes.push(d));
  const order: string[] = [];
  const gates = new Map<string, () => void>();
  const job = (name: string) =>
    slots.run(async () => {
      order.push(`start ${name}`);
      await new Promise<void>((r) => gates.set(name, r));
      order.push(`end ${name}`);
      return name;
    });
  const all = ["a", "b", "c", "d"].map(job);
  await tick();
  assert.deepEqual(order, ["start a", "start b"]);
  assert.equal(slots.queued, 2);
  assert.deepEqual(changes, [1, 1]);
  gates.get("b")!();
  await tick();
  assert.deepEqual(order, ["start a", "start b", "end b", "start c"]);
  assert.equal(slots.queued, 1);
  gates.get("a")!();
  await tick();
  assert.deepEqual(order.slice(-2), ["end a", "start d"]);
  gates.get("c")!();
  gates.get("d")!();
  assert.deepEqual(await Promise.all(all), ["a", "b", "c", "d"]);
  assert.equal(slots.queued, 0);
  // Every +1 was matched by a -1.
  assert.equal(changes.reduce((x, y) => x + y, 0), 0);
});

Deno.test("Slots.run() frees the slot when the function throws", async () => {
  const slots = new Slots(1);
  await assert.rejects(slots.run(() => Promise.reject(new Error("x"))), /x/);
  assert.equal(await slots.run(() => Promise.resolve(7)), 7);
  await slots.acquire();
  let got = false;
  const waiter = slots.acquire().then(() => got = true);
  await tick();
  assert.equal(got, false);
  slots.release();
  await waiter;
  assert.equal(got, true);
});

Deno.test("Slots: a released slot goes to the oldest waiter before a newcomer", async () => {
  const slots = new Slots(1);
  await slots.acquire();
  const order: string[] = [];
  const first = slots.acquire().then(() => order.push("first"));
  slots.release();
  // A newcomer right after the release must not jump the queue.
  const late = slots.acquire().then(() => order.push("late"));
  await first;
  slots.release();
  await late;
  assert.deepEqual(order, ["first", "late"]);
});
