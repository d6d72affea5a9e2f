/**
 * The access line the log benches use: one JSON echo request of API "echo"
 * as a replica writes it (`*_bench.ts`, `deno task bench:stages`).
 *
 * @module
 */

import { accessLineFormatter } from "./access_line.ts";
import { accessRecordWriter } from "./access_record.ts";

/** Who wrote the sample line. */
export const SAMPLE_OWNER = {
  apiName: "echo",
  apiKind: "RealtimeAPI",
  replicaId: "echo-1",
};

/** The sample line's entry. */
export const SAMPLE_ACCESS_ENTRY = {
  method: "POST",
  path: "/echo",
  status: 200,
  latencyMs: 0.42,
  requestId: "0b3c5d6e-8f90-4a1b-9c2d-3e4f5a6b7c8d",
  bytesIn: 150,
  bytesOut: 150,
};

/** One access line, without its newline. */
export const SAMPLE_ACCESS_LINE = accessLineFormatter(SAMPLE_OWNER, 4242)(
  SAMPLE_ACCESS_ENTRY,
);

/** The sample's access record: what a replica hands off per request. */
export const SAMPLE_ACCESS_RECORD = accessRecordWriter(
  accessLineFormatter(SAMPLE_OWNER, 4242),
)(SAMPLE_ACCESS_ENTRY);
