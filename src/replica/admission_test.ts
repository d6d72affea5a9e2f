import assert from "node:assert/strict";
import { Admission, createAdmissionBuffer, MAX_SLOTS } from "./admission.ts";

function fresh(limit: number): Admission {
  const a = new Admission(createAdmissionBuffer());
  a.limit = limit;
  return a;
}

Deno.test("Admission admits up to the limit, then refuses without counting the refused", () => {
  const a = fresh(2);
  assert.equal(a.tryAdmit(), true);
  assert.equal(a.tryAdmit(), true);
  assert.equal(a.tryAdmit(), false);
  assert.equal(a.tryAdmit(), false);
  assert.equal(a.inFlight, 2);
  a.finish();
  assert.equal(a.inFlight, 1);
  assert.equal(a.tryAdmit(), true);
  assert.equal(a.inFlight, 2);
});

Deno.test("Admission with limit 0 (no ready replica) refuses everything", () => {
  const a = fresh(0);
  assert.equal(a.tryAdmit(), false);
  assert.equal(a.inFlight, 0);
});

Deno.test("Admission: lowering the limit refuses new requests but keeps the admitted ones", () => {
  const a = fresh(3);
  for (let i = 0; i < 3; i++) assert.ok(a.tryAdmit());
  a.limit = 1;
  assert.equal(a.tryAdmit(), false);
  assert.equal(a.inFlight, 3);
  a.finish();
  a.finish();
  assert.equal(a.tryAdmit(), false);
  a.finish();
  assert.equal(a.tryAdmit(), true);
});

Deno.test("Admission views over one buffer share the counters (threads of a process)", () => {
  const buffer = createAdmissionBuffer();
  const main = new Admission(buffer);
  const replica = new Admission(buffer);
  main.limit = 1;
  assert.equal(replica.limit, 1);
  assert.ok(replica.tryAdmit());
  assert.equal(main.tryAdmit(), false);
  assert.equal(main.inFlight, 1);
});

Deno.test("Admission keeps load and queued per slot", () => {
  const a = fresh(10);
  a.addLoad(0, 2);
  a.addLoad(1, 1);
  a.addLoad(0, -1);
  assert.equal(a.load(0), 1);
  assert.equal(a.load(1), 1);
  assert.equal(a.load(MAX_SLOTS - 1), 0);
  a.addQueued(2, 0);
  a.addQueued(1, 1);
  assert.equal(a.queued, 3);
  assert.equal(a.queuedIn(0), 2);
  assert.equal(a.queuedIn(1), 1);
  // Slots do not overlap: a slot's queue is not the next slot's load.
  assert.equal(a.load(1), 1);
});

Deno.test("Admission.addQueued() without a slot only moves the total", () => {
  const a = fresh(1);
  a.addQueued(2);
  assert.equal(a.queued, 2);
  assert.equal(a.queuedIn(0), 0);
  a.addQueued(-2);
  assert.equal(a.queued, 0);
});
