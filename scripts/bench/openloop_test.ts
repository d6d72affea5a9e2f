import assert from "node:assert/strict";
import {
  evenSchedule,
  parseRecords,
  type Records,
  requestBytes,
  summarize,
} from "./openloop.ts";

/**
 * Records of a run in which request k was sent at sent[k] on a connection
 * free since freeAt[k] (default 0) and answered at done[k].
 */
function records(
  sent: number[],
  done: number[],
  status?: number[],
  freeAt?: number[],
): Records {
  return {
    sent: Float64Array.from(sent),
    done: Float64Array.from(done),
    status: Float64Array.from(status ?? sent.map(() => 200)),
    freeAt: Float64Array.from(freeAt ?? sent.map(() => 0)),
  };
}

Deno.test("evenSchedule() spaces requests evenly at the rate", () => {
  const s = evenSchedule(1000, 0.01);
  assert.deepEqual([...s], [
    0,
    1e6,
    2e6,
    3e6,
    4e6,
    5e6,
    6e6,
    7e6,
    8e6,
    9e6,
  ]);
  assert.equal(evenSchedule(3, 1).length, 3);
  assert.equal(evenSchedule(2.5, 2).length, 5);
  assert.equal(evenSchedule(100_000, 2).length, 200_000);
});

Deno.test("evenSchedule() rejects a rate or duration that schedules nothing", () => {
  assert.throws(() => evenSchedule(0, 1), /0 req\/s for 1 s/);
  assert.throws(() => evenSchedule(10, -1), /both must be positive/);
});

Deno.test("requestBytes() builds a kept-alive POST with its length", () => {
  const body = new TextEncoder().encode('{"a":1}');
  const bytes = requestBytes({
    host: "127.0.0.1",
    port: 8080,
    path: "/echo",
    contentType: "application/json",
    body,
  });
  assert.equal(
    new TextDecoder().decode(bytes),
    "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" +
      "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n" +
      '{"a":1}',
  );
});

Deno.test("parseRecords() reads four float64 per request", () => {
  const raw = Float64Array.from([1, 2, 200, 0.5, 3, -1, -1, 2]);
  const r = parseRecords(new Uint8Array(raw.buffer));
  assert.deepEqual([...r.sent], [1, 3]);
  assert.deepEqual([...r.done], [2, -1]);
  assert.deepEqual([...r.status], [200, -1]);
  assert.deepEqual([...r.freeAt], [0.5, 2]);
  assert.throws(
    () => parseRecords(new Uint8Array(40)),
    /40 bytes is not a multiple of 32/,
  );
});

Deno.test("summarize() measures from the intended time, not the send time", () => {
  // 1 request/ms; the server stalls for 50 ms at 10 ms: requests 10-59 wait
  // for the stall's end and go out then (one connection, as a closed loop
  // would), each answered 0.1 ms after it was sent.
  const intended = evenSchedule(1000, 0.1);
  const sent: number[] = [];
  const done: number[] = [];
  const freeAt: number[] = [];
  let free = 0;
  for (const at of intended) {
    const s = Math.max(at, free) + 0.002e6; // the generator is 2 us late
    const d = at === 10e6 ? 60e6 : s + 0.1e6;
    sent.push(s);
    done.push(d);
    freeAt.push(free);
    free = d;
  }
  const window = { startNs: 0, endNs: 100e6, stopNs: 200e6 };
  const open = summarize(
    intended,
    records(sent, done, undefined, freeAt),
    window,
  );
  // From the intended time, request 10 waited 50 ms, request 11 49 ms, ...:
  // half the requests of the window saw the stall.
  assert.equal(open.requests, 100);
  assert.ok(open.p99Ms > 48, `p99 ${open.p99Ms}`);
  assert.ok(open.p50Ms > 1, `p50 ${open.p50Ms}`);
  assert.ok(Math.abs(open.maxMs - 50) < 0.01);
  // The generator's own lateness leaves out the wait for the connection.
  assert.ok(Math.abs(open.generatorLagP99Ms - 0.002) < 1e-9);
  // The same records measured from the send time (what a closed loop
  // reports) hide it: one slow request, the p99 stays near 0.1 ms.
  const closed = summarize(
    Float64Array.from(sent),
    records(sent, done, undefined, freeAt),
    window,
  );
  assert.ok(Math.abs(closed.maxMs - 50) < 0.01);
  assert.ok(closed.p50Ms < 0.11, `p50 ${closed.p50Ms}`);
  assert.ok(closed.p99Ms < 1, `p99 ${closed.p99Ms}`);
});

Deno.test("summarize() keeps only the window and rates it by its length", () => {
  // 10 requests, 1 per 100 ms, each answered after 2 ms; window 200-700 ms.
  const intended = evenSchedule(10, 1);
  const r = records(
    [...intended],
    [...intended].map((t) => t + 2e6),
  );
  const s = summarize(intended, r, {
    startNs: 200e6,
    endNs: 700e6,
    stopNs: 1e9,
  });
  assert.equal(s.requests, 5);
  assert.equal(s.offeredRps, 10);
  assert.equal(s.achievedRps, 10);
  assert.equal(s.p50Ms, 2);
  assert.equal(s.maxMs, 2);
  assert.equal(s.errors, 0);
  assert.equal(s.unfinished, 0);
  assert.equal(s.generatorLagP99Ms, 0);
});

Deno.test("summarize() counts errors and unanswered requests with what they waited", () => {
  const intended = Float64Array.from([0, 1e6, 2e6, 3e6]);
  const r = records(
    [0, 1e6, 2.5e6, -1],
    [1e6, 1.5e6, -1, -1],
    [200, 503, -1, -1],
  );
  const s = summarize(intended, r, { startNs: 0, endNs: 4e6, stopNs: 10e6 });
  assert.equal(s.requests, 4);
  assert.equal(s.errors, 1);
  assert.equal(s.unfinished, 2);
  // Only the 200 answered in the window; the unanswered waited until the stop.
  assert.equal(s.achievedRps, 1 / 0.004);
  assert.equal(s.maxMs, 8);
  // Request 2 went out 0.5 ms after it was due, on a connection free since 0.
  assert.ok(Math.abs(s.generatorLagP99Ms - 0.49) < 1e-9);
});

Deno.test("summarize() leaves failed connections out of the latencies", () => {
  const intended = Float64Array.from([0, 1e6]);
  const r = records([0, 1e6], [5e6, 1.2e6], [0, 200]);
  const s = summarize(intended, r, { startNs: 0, endNs: 2e6, stopNs: 10e6 });
  assert.equal(s.errors, 1);
  assert.equal(s.unfinished, 0);
  assert.ok(Math.abs(s.maxMs - 0.2) < 1e-9);
});
