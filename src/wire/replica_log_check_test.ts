import assert from "node:assert/strict";
import { accessLineFormatter } from "../log/access_line.ts";
import {
  accessRecordRenderer,
  accessRecordWriter,
} from "../log/access_record.ts";
import { ownLines } from "./replica_log_check.ts";

const owner = { apiName: "iris", apiKind: "RealtimeAPI", replicaId: "iris-1" };
const wrap = (text: string) => JSON.stringify({ wrapped: text });
const line = accessLineFormatter(owner, 7);
const entry = {
  method: "POST",
  path: "/iris",
  status: 200,
  latencyMs: 0.5,
  requestId: "r-1",
  bytesIn: 2,
  bytesOut: 2,
};

Deno.test("ownLines(): records render in place, own lines pass, foreign lines are wrapped", () => {
  const record = accessRecordWriter(line)(entry);
  const ms = Number(record.slice(1, record.indexOf("\t")));
  const own = line({ ...entry, requestId: "r-0" });
  const foreign = '{"labels":{"apiName":"victim"},"message":"x"}';
  const chunk = `${own}\n${record}\n${foreign}\n${record}x\n`;
  const out = ownLines(chunk, owner, wrap, accessRecordRenderer(owner, 7))
    .split("\n");
  assert.deepEqual(out, [
    own,
    line(entry, ms),
    wrap(foreign),
    wrap(`${record}x`), // a malformed record
    "",
  ]);
});

Deno.test("ownLines(): without a renderer (a replica's stdout) a record is wrapped", () => {
  const record = accessRecordWriter(line)(entry);
  assert.equal(ownLines(`${record}\n`, owner, wrap), `${wrap(record)}\n`);
});
