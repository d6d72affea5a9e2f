import assert from "node:assert/strict";
import { grpcFrame, parseH2loadLog, parseH2loadSummary } from "./h2load.ts";

const OUTPUT = `finished in 3.00s, 6414.50 req/s, 326.10KB/s
requests: 12829 total, 12829 started, 12829 done, 12820 succeeded, 9 failed, 2 errored, 1 timeout
status codes: 12820 2xx, 0 3xx, 3 4xx, 4 5xx
traffic: 652.19KB (667844) total, 92.22KB (94434) headers (space savings 96.30%), 323.05KB (330804) data
                     min         max         mean         sd        +/- sd
time for request:      343us     41.35ms      2.38ms      3.04ms    95.19%
`;

Deno.test("parseH2loadSummary() reads rate, totals and status codes", () => {
  assert.deepEqual(parseH2loadSummary(OUTPUT), {
    rps: 6414.5,
    requests: 12829,
    succeeded: 12820,
    failed: 9,
    errored: 2,
    timeout: 1,
    non2xx: 7,
  });
});

Deno.test("parseH2loadSummary() rejects output without a summary", () => {
  assert.throws(() => parseH2loadSummary("unable to connect\n"), SyntaxError);
});

Deno.test("parseH2loadLog() returns sorted durations in ms and skips junk", () => {
  const log =
    "1795745138942258\t200\t4009\n1795745138942251\t200\t76\n\nbad line\n" +
    "1795745138942244\t200\t1500\n";
  assert.deepEqual([...parseH2loadLog(log)], [0.076, 1.5, 4.009]);
});

Deno.test("grpcFrame() prefixes a flag byte and a big-endian length", () => {
  const frame = grpcFrame(new Uint8Array([0x0a, 0x02, 0x68, 0x69]));
  assert.deepEqual([...frame], [0, 0, 0, 0, 4, 0x0a, 0x02, 0x68, 0x69]);
  const big = grpcFrame(new Uint8Array(300));
  assert.deepEqual([...big.subarray(0, 5)], [0, 0, 0, 1, 44]);
});
