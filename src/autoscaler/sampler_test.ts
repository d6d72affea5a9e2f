import assert from "node:assert/strict";
import { averageInFlight, type Sample, SampleWindow } from "./sampler.ts";

function s(at: number, inFlight = at): Sample {
  return { at, inFlight };
}

Deno.test("SampleWindow.samples() returns samples oldest first", () => {
  const w = new SampleWindow(4);
  assert.deepEqual(w.samples(), []);
  w.push(s(1));
  w.push(s(2));
  assert.deepEqual(w.samples(), [s(1), s(2)]);
  assert.equal(w.size, 2);
});

Deno.test("SampleWindow.push() drops the oldest sample when full", () => {
  const w = new SampleWindow(3);
  for (let i = 1; i <= 7; i++) w.push(s(i));
  assert.deepEqual(w.samples(), [s(5), s(6), s(7)]);
  assert.equal(w.size, 3);
  assert.equal(w.capacity, 3);
});

Deno.test("SampleWindow.prune() drops samples strictly before the time", () => {
  const w = new SampleWindow(3);
  for (let i = 1; i <= 5; i++) w.push(s(i)); // wraps: holds 3, 4, 5
  w.prune(4);
  assert.deepEqual(w.samples(), [s(4), s(5)]);
  w.push(s(6));
  w.push(s(7));
  assert.deepEqual(w.samples(), [s(5), s(6), s(7)]);
  w.prune(100);
  assert.deepEqual(w.samples(), []);
  assert.equal(w.size, 0);
  w.push(s(8));
  assert.deepEqual(w.samples(), [s(8)]);
});

Deno.test("SampleWindow.prune() on an empty window is a no-op", () => {
  const w = new SampleWindow(1);
  w.prune(10);
  assert.equal(w.size, 0);
});

Deno.test("SampleWindow() rejects a capacity that is not a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => new SampleWindow(bad), RangeError);
  }
});

Deno.test("averageInFlight() averages samples within (now - window, now]", async (t) => {
  const cases: {
    name: string;
    samples: Sample[];
    want: number | null;
  }[] = [
    { name: "no samples", samples: [], want: null },
    { name: "all outside", samples: [s(0, 5), s(11, 5)], want: null },
    {
      name: "start excluded, end included",
      samples: [s(0, 9), s(10, 3)],
      want: 3,
    },
    { name: "mean of several", samples: [s(2, 1), s(5, 2), s(9, 6)], want: 3 },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(averageInFlight(c.samples, 10, 10), c.want);
    });
  }
});
