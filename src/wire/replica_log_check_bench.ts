/**
 * Cost budget (issue 17), the serving process's check of a replica's log
 * lines (labels parsed per line) before they reach stdout
 * (`deno task bench:stages`). Per-line costs are the batch's divided by its
 * lines.
 *
 * @module
 */

import {
  SAMPLE_ACCESS_ENTRY,
  SAMPLE_ACCESS_LINE as line,
  SAMPLE_OWNER as owner,
} from "../log/_bench_access_line.ts";
import { accessLineFormatter } from "../log/access_line.ts";
import {
  accessRecordRenderer,
  accessRecordWriter,
} from "../log/access_record.ts";
import { ownLines } from "./replica_log_check.ts";

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

// Access records (src/log/access_record.ts): what a replica sends instead
// of the line, rendered into it here.
const record = accessRecordWriter(accessLineFormatter(owner, 4242))(
  SAMPLE_ACCESS_ENTRY,
);
const records = `${record}\n`.repeat(100);
const render = accessRecordRenderer(owner, 4242);

Deno.bench({
  name: "log check: ownLines, batch of 100 access records (rendered)",
  group: "log check (serving process)",
}, () => {
  ownLines(records, owner, wrap, render);
});
