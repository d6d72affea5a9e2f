import assert from "node:assert/strict";
import { parseWrkOutput, parseWrkTime } from "./wrk.ts";

const WITH_JSON = `Running 1s test @ http://127.0.0.1:18151/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.45ms    7.91ms  51.30ms   92.02%
    Req/Sec    21.35k     5.44k   30.61k    70.00%
  Latency Distribution
     50%  239.00us
     75%    2.65ms
     90%    7.88ms
     99%   41.17ms
  21264 requests in 1.00s, 4.72MB read
Requests/sec:  21190.28
Transfer/sec:      4.71MB
BENCH_JSON {"requests":21264,"durationUs":1003479,"p50Us":239,"p90Us":7875,"p99Us":41168,"maxUs":51299,"non2xx":0,"connectErrors":0,"readErrors":0,"writeErrors":0,"timeouts":0}
`;

const TEXT_ONLY = `Running 1s test @ http://127.0.0.1:18151/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.43ms   11.31ms  81.36ms   94.84%
    Req/Sec     5.58k     2.37k    9.49k    60.00%
  Latency Distribution
     50%    1.75ms
     75%    4.40ms
     90%    8.57ms
     99%   68.40ms
  5575 requests in 1.00s, 631.54KB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5575
Requests/sec:   5557.10
Transfer/sec:    629.51KB
`;

Deno.test("parseWrkTime() converts every wrk unit to milliseconds", () => {
  assert.equal(parseWrkTime("239.00us"), 0.239);
  assert.equal(parseWrkTime("2.65ms"), 2.65);
  assert.equal(parseWrkTime("1.50s"), 1500);
  assert.equal(parseWrkTime("2.00m"), 120_000);
  assert.throws(() => parseWrkTime("fast"), SyntaxError);
});

Deno.test("parseWrkOutput() prefers the exact BENCH_JSON percentiles", () => {
  assert.deepEqual(parseWrkOutput(WITH_JSON), {
    requests: 21264,
    durationS: 1,
    rps: 21190.28,
    p50Ms: 0.239,
    p99Ms: 41.168,
    errors: 0,
  });
});

Deno.test("parseWrkOutput() reads the text distribution and counts errors", () => {
  const r = parseWrkOutput(TEXT_ONLY);
  assert.equal(r.rps, 5557.1);
  assert.equal(r.requests, 5575);
  assert.equal(r.p50Ms, 1.75);
  assert.equal(r.p99Ms, 68.4);
  assert.equal(r.errors, 5575 + 3);
});

Deno.test("parseWrkOutput() rejects output without a summary", () => {
  assert.throws(
    () =>
      parseWrkOutput("unable to connect to 127.0.0.1:1 Connection refused\n"),
    SyntaxError,
  );
});
