/**
 * Cost budget (issue 17), access line: rendering one request's access line
 * (`deno task bench:stages`).
 *
 * @module
 */

import { accessLineFormatter } from "./access_line.ts";
import { accessRecordWriter } from "./access_record.ts";

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

// What a replica hands off since access records (src/log/access_record.ts):
// the fields, rendered into the line by the serving process.
const record = accessRecordWriter(format);

Deno.bench({
  name: "access record: accessRecordWriter(line)(entry)",
  group: "access line",
}, () => {
  record(entry);
});

// A batch as the replica's LineBuffer joins it: the join flattens each
// line built by concatenation, a cost the single-line rows do not show.
Deno.bench({
  name: "access line: 100 lines formatted and joined (per batch)",
  group: "access batch",
  baseline: true,
}, () => {
  const lines: string[] = [];
  for (let i = 0; i < 100; i++) lines.push(format(entry));
  lines.join("\n");
});

Deno.bench({
  name: "access record: 100 records written and joined (per batch)",
  group: "access batch",
}, () => {
  const lines: string[] = [];
  for (let i = 0; i < 100; i++) lines.push(record(entry));
  lines.join("\n");
});
