/**
 * Cost budget (issue 17), slot: taking and freeing a handler slot
 * (`deno task bench:stages`).
 *
 * @module
 */

import { Slots } from "./slots.ts";

const free = new Slots(1);

Deno.bench({
  name: "slot: tryAcquire + release (a free slot)",
  group: "slot",
  baseline: true,
}, () => {
  // request_run.ts: the fast path of a request that finds a free slot.
  free.tryAcquire();
  free.release();
});

const busy = new Slots(1, () => {});
busy.tryAcquire();

Deno.bench({
  name: "slot: queued acquire, then handed over by release (no free slot)",
  group: "slot",
}, async () => {
  const waiting = busy.acquire();
  busy.release();
  await waiting;
});
