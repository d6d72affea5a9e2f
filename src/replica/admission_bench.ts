/**
 * Cost budget (issue 17), admission: what one request costs the replica's
 * shared admission counters (`deno task bench:stages`).
 *
 * @module
 */

import { Admission, createAdmissionBuffer } from "./admission.ts";

const SLOT = 0;

// The replica's onChange schedules one load report (runtime.ts reportSoon).
let reportTimer: ReturnType<typeof setTimeout> | undefined;
const reportSoon = () => {
  if (reportTimer !== undefined) return;
  const timer = setTimeout(() => reportTimer = undefined, 5);
  Deno.unrefTimer(timer);
  reportTimer = timer;
};
const admission = new Admission(createAdmissionBuffer(), reportSoon);
admission.limit = 1024;
const silent = new Admission(createAdmissionBuffer());
silent.limit = 1024;

Deno.bench({
  name: "admission: tryAdmit + addLoad(+1) ... addLoad(-1) + finish",
  group: "admission",
  baseline: true,
}, () => {
  // As http_pipeline.ts and request_run.ts #end() do per admitted request.
  admission.tryAdmit();
  admission.addLoad(SLOT, 1);
  admission.addLoad(SLOT, -1);
  admission.finish();
});

Deno.bench({
  name: "admission: the same with a no-op onChange",
  group: "admission",
}, () => {
  silent.tryAdmit();
  silent.addLoad(SLOT, 1);
  silent.addLoad(SLOT, -1);
  silent.finish();
});
