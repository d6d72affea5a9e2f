/**
 * Cost budget (issue 17), deadline: registering and cancelling a request's
 * deadline on the replica's coarse timer (`deno task bench:stages`).
 *
 * @module
 */

import { Deadlines } from "./deadlines.ts";

const deadlines = new Deadlines(100);
const fire = () => {};

Deno.bench({
  name: "deadline: add + cancel (one coarse timer per replica)",
  group: "deadline",
  baseline: true,
}, () => {
  deadlines.cancel(deadlines.add(60_000, fire));
});

// What RequestRun does: the run is its own deadline, armed from the
// request's start time it already read.
const run = { at: 0, fire() {} };

Deno.bench({
  name: "deadline: arm + cancel (the request run is its own deadline)",
  group: "deadline",
}, () => {
  deadlines.arm(run, 60_000, 1);
  deadlines.cancel(run);
});

Deno.bench({
  name: "deadline: setTimeout + clearTimeout (a timer per request)",
  group: "deadline",
}, () => {
  clearTimeout(setTimeout(fire, 60_000));
});
