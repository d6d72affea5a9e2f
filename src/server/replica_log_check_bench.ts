/**
 * Cost budget (issue 17), the serving process's check of a replica's log
 * lines (labels parsed per line) before they reach stdout
 * (`deno task bench:stages`). Per-line costs are the batch's divided by its
 * lines.
 *
 * @module
 */

import { accessLineFormatter } from "../log/access_line.ts";
import { ownLines } from "./replica_log_check.ts";

const owner = { apiName: "echo", apiKind: "RealtimeAPI", replicaId: "echo-1" };
const line = accessLineFormatter(
  { apiName: "echo", apiKind: "RealtimeAPI", replicaId: "echo-1" },
  4242,
)({
  method: "POST",
  path: "/echo",
  status: 200,
  latencyMs: 0.42,
  requestId: "0b3c5d6e-8f90-4a1b-9c2d-3e4f5a6b7c8d",
  bytesIn: 150,
  bytesOut: 150,
});
const one = `${line}\n`;
const hundred = one.repeat(100);
const wrap = (text: string) => JSON.stringify({ message: text });

Deno.bench({
  name: "log check: ownLines, batch of 1 line",
  group: "log check (serving process)",
  baseline: true,
}, () => {
  ownLines(one, owner, wrap);
});

Deno.bench({
  name: "log check: ownLines, batch of 100 lines",
  group: "log check (serving process)",
}, () => {
  ownLines(hundred, owner, wrap);
});
