import assert from "node:assert/strict";
import { accessLineFormatter } from "./access_line.ts";
import {
  accessRecordRenderer,
  accessRecordWriter,
  RECORD_MARK,
} from "./access_record.ts";
import type { AccessEntry } from "./logger.ts";

const labels = { apiName: "iris", apiKind: "RealtimeAPI", replicaId: "iris-1" };
const PID = 4242;

const base: AccessEntry = {
  method: "POST",
  path: "/iris",
  status: 200,
  latencyMs: 1.25,
  requestId: "0b3c5d6e-8f90-4a1b-9c2d-3e4f5a6b7c8d",
  bytesIn: 124,
  bytesOut: 124,
};

/** What the replica hands off for `entry`, and the line stdout gets from it. */
function roundTrip(entry: AccessEntry): { sent: string; line: string } {
  const line = accessLineFormatter(labels, PID);
  const sent = accessRecordWriter(line)(entry);
  if (!sent.startsWith(RECORD_MARK)) return { sent, line: sent };
  const rendered = accessRecordRenderer(labels, PID)(sent);
  assert.ok(rendered !== null, sent);
  return { sent, line: rendered };
}

Deno.test("access records render into the line the replica would have written", () => {
  const entries: AccessEntry[] = [
    base,
    { ...base, latencyMs: 0, bytesIn: 0, status: 503 },
    { ...base, latencyMs: 12345.67, path: "/a/b-c_d.e~f%20" },
    { ...base, latencyMs: 0.05, method: "DELETE" },
    { ...base, traceId: "4bf92f3577b34da6a3ce929d0e0e4736" },
    {
      ...base,
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      batchSize: 8,
    },
    { ...base, method: "GET", status: 101, closeCode: 1000 },
  ];
  const line = accessLineFormatter(labels, PID);
  for (const entry of entries) {
    const { sent, line: rendered } = roundTrip(entry);
    assert.ok(sent.startsWith(RECORD_MARK), `not a record: ${sent}`);
    assert.ok(sent.length < 160, `${sent.length} characters`);
    const ms = Number(sent.slice(1, sent.indexOf("\t")));
    assert.equal(rendered, line(entry, ms));
  }
});

Deno.test("access records: an entry a record cannot carry goes as its whole line", () => {
  const line = accessLineFormatter(labels, PID);
  for (
    const entry of [
      { ...base, path: '/a"b' },
      { ...base, path: "/tab\there" },
      { ...base, path: "/caf\u00e9" },
      { ...base, requestId: "a\\b" },
      { ...base, bytesIn: NaN },
      { ...base, latencyMs: 1.234 },
      { ...base, traceId: "not-hex" },
    ]
  ) {
    const sent = accessRecordWriter(line)(entry);
    // The formatter's own line (as before records; NaN stays NaN).
    assert.ok(sent.startsWith('{"asctime":'), sent);
    assert.ok(sent.includes('"labels":{"apiName":"iris",'), sent);
  }
});

Deno.test("access records: a malformed or forged record renders nothing", () => {
  const render = accessRecordRenderer(labels, PID);
  const good = accessRecordWriter(accessLineFormatter(labels, PID))(base);
  const fields = good.slice(1).split("\t");
  const withField = (i: number, value: string) =>
    RECORD_MARK + fields.map((f, j) => j === i ? value : f).join("\t");
  assert.ok(render(good) !== null);
  const forged = [
    RECORD_MARK,
    good + "\textra",
    good.slice(0, good.lastIndexOf("\t")),
    withField(0, "-1"),
    withField(0, "1e3"),
    withField(1, 'POST","labels":{"apiName":"victim"},"x":"'),
    withField(2, '/x","labels":{"apiName":"victim"}}'),
    withField(2, "/back\\slash"),
    withField(3, "20"),
    withField(3, "2000"),
    withField(4, "1.5"),
    withField(5, ""),
    withField(6, "007"),
    withField(7, "NaN"),
    withField(8, '4bf92f3577b34da6a3ce929d0e0e473","x":"'),
    withField(9, "00f067aa0ba902b7"), // a span without a trace
    withField(10, "-2"),
    withField(11, "1000.5"),
    // Control characters, DEL and line separators would need escaping (or
    // end the line for a reader that splits on them).
    withField(2, "/a\x00b"),
    withField(2, "/a\rb"),
    withField(1, "G\x1bET"),
    withField(2, "/a\x7fb"),
    withField(2, "/a\u2028b"),
    withField(5, "id\u0085"),
  ];
  for (const record of forged) assert.equal(render(record), null, record);
});

Deno.test("access records render with the labels and process id of the replica that sent them", () => {
  const sent = accessRecordWriter(accessLineFormatter(labels, PID))(base);
  const other = { apiName: "victim", apiKind: "RealtimeAPI", replicaId: "v-1" };
  const line = JSON.parse(accessRecordRenderer(other, 7)(sent)!);
  assert.deepEqual(line.labels, { ...other, requestId: base.requestId });
  assert.equal(line.process, 7);
});

Deno.test("access records sharing method, path, status and latency render each its own line", () => {
  // The second and later records of a run take the line's kept front part
  // (src/log/access_line.ts): ids, times, traces and labels stay their own.
  const other = { ...labels, replicaId: "iris-2" };
  const renderers = [
    { labels, pid: PID, render: accessRecordRenderer(labels, PID) },
    { labels: other, pid: 7, render: accessRecordRenderer(other, 7) },
  ];
  const entries: AccessEntry[] = [
    { ...base, latencyMs: 3.14 },
    { ...base, latencyMs: 3.14, requestId: "second" },
    {
      ...base,
      latencyMs: 3.14,
      requestId: "third",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    },
    { ...base, latencyMs: 3.15, requestId: "fourth" },
  ];
  for (const { labels: l, pid, render } of renderers) {
    const line = accessLineFormatter(l, pid);
    const write = accessRecordWriter(line);
    for (const entry of entries) {
      const sent = write(entry);
      const ms = Number(sent.slice(1, sent.indexOf("\t")));
      assert.equal(render(sent), line(entry, ms));
    }
  }
});
