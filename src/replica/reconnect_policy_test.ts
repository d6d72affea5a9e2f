import assert from "node:assert/strict";
import { ReconnectPolicy } from "./reconnect_policy.ts";

Deno.test("ReconnectPolicy asks only when over capacity lately, with peers, at a bounded rate", () => {
  const p = new ReconnectPolicy({ minGapMs: 100, busyForMs: 1_000 });
  assert.equal(p.shouldAsk(0, 4), false, "never over capacity");
  p.overCapacity(10);
  assert.equal(p.shouldAsk(20, 1), false, "alone: reconnecting cannot help");
  assert.equal(p.shouldAsk(20, 4), true);
  assert.equal(p.shouldAsk(60, 4), false, "within the minimum gap");
  assert.equal(p.shouldAsk(120, 4), true);
  // Ten per second at most while busy.
  let asked = 0;
  for (let t = 121; t < 1_000; t += 5) if (p.shouldAsk(t, 4)) asked++;
  assert.ok(asked <= 9, `${asked} asks`);
  assert.equal(p.shouldAsk(1_200, 4), false, "no longer busy");
});
