import assert from "node:assert/strict";
import { type Deadline, Deadlines } from "./deadlines.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("Deadlines.arm() fires an object that is its own deadline, once", async () => {
  const deadlines = new Deadlines(5);
  let fired = 0;
  const run: Deadline = { at: 0, fire: () => fired++ };
  deadlines.arm(run, 10);
  assert.ok(run.at > performance.now(), "at is set from now + delay");
  await sleep(40);
  assert.equal(fired, 1);
  await sleep(20);
  assert.equal(fired, 1, "a fired deadline is forgotten");
  deadlines.close();
});

Deno.test("Deadlines.arm() counts from the given start, and cancel() stops it", async () => {
  const deadlines = new Deadlines(5);
  let early = 0;
  let cancelled = 0;
  // Started 1 s ago with a 100 ms timeout: due at the next tick.
  deadlines.arm({ at: 0, fire: () => early++ }, 100, performance.now() - 1000);
  const run: Deadline = { at: 0, fire: () => cancelled++ };
  deadlines.arm(run, 10);
  deadlines.cancel(run);
  await sleep(40);
  assert.equal(early, 1);
  assert.equal(cancelled, 0);
  deadlines.close();
});
