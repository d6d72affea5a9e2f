/**
 * Cost budget (issue 17), stats: counting one finished request
 * (`deno task bench:stages`).
 *
 * @module
 */

import { RequestStats } from "./request_stats.ts";

const stats = new RequestStats();

Deno.bench({
  name: "stats: RequestStats.observe(200, 0.4 ms)",
  group: "stats",
  baseline: true,
}, () => {
  stats.observe(200, 0.0004);
});
