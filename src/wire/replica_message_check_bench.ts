/**
 * Cost budget (issue 17), the serving process's check of a replica's
 * `log` message before its lines are checked (`deno task bench:stages`).
 * Per-line costs are the batch's divided by its lines.
 *
 * @module
 */

import { checkFromReplica } from "./replica_message_check.ts";

const line = JSON.stringify({
  asctime: "2026-01-01T00:00:00.000Z",
  levelname: "INFO",
  message: "POST /echo 200 0.4ms",
  labels: { apiName: "echo", replicaId: "echo-1" },
});
const message = { type: "log", chunk: `${line}\n`.repeat(100) };

Deno.bench({
  name: "message check: checkFromReplica(log), batch of 100 lines",
  group: "message check (serving process)",
  baseline: true,
}, () => {
  checkFromReplica(message);
});
