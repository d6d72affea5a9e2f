/**
 * Cost budget (issue 17), access line: rendering one request's access line
 * (`deno task bench:stages`).
 *
 * @module
 */

import { accessLineFormatter } from "./access_line.ts";

const format = accessLineFormatter(
  { apiName: "echo", apiKind: "RealtimeAPI", replicaId: "echo-1" },
  4242,
);
const entry = {
  method: "POST",
  path: "/echo",
  status: 200,
  latencyMs: 0.42,
  requestId: "0b3c5d6e-8f90-4a1b-9c2d-3e4f5a6b7c8d",
  bytesIn: 150,
  bytesOut: 150,
};

Deno.bench({
  name: "access line: accessLineFormatter(labels, pid)(entry)",
  group: "access line",
  baseline: true,
}, () => {
  format(entry);
});
