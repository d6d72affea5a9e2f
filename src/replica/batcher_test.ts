import nodeAssert from "node:assert/strict";

function assert(ok: unknown, message?: string): asserts ok {
  nodeAssert.ok(ok, message ?? "assertion failed");
}
const assertEquals = (a: unknown, b: unknown) => nodeAssert.deepEqual(a, b);
// deno-lint-ignore no-explicit-any
async function assertRejects<E extends Error = any>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
  includes = "",
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    nodeAssert.ok(error instanceof type, `got ${error}`);
    nodeAssert.ok(
      (error as Error).message.includes(includes),
      `"${(error as Error).message}" does not include "${includes}"`,
    );
    return error as E;
  }
  throw new Error("did not reject");
}
import { HttpError } from "../errors/http_error.ts";
import { Code, GrpcError } from "../grpc/common/grpc_error.ts";
import {
  type BatchClock,
  Batcher,
  type BatcherOptions,
  fitCost,
} from "./batcher.ts";

/** A clock that only moves when told to. */
class VirtualClock implements BatchClock {
  t = 0;
  #timers: Array<{ at: number; fn: () => void; id: number }> = [];
  #next = 1;
  now = () => this.t;
  setTimer = (fn: () => void, ms: number) => {
    const id = this.#next++;
    this.#timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimer = (id: unknown) => {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  };
  /** Moves time forward, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await flush();
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const due = this.#timers[0];
      if (!due || due.at > target) break;
      this.#timers.shift();
      this.t = due.at;
      due.fn();
      await flush();
    }
    this.t = target;
    await flush();
  }
  /** A promise that resolves `ms` from now in virtual time. */
  sleep(ms: number): Promise<void> {
    return new Promise((r) => this.setTimer(r, ms));
  }
}

async function flush() {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

interface Harness {
  clock: VirtualClock;
  batches: unknown[][];
  batcher: Batcher<string>;
}

function harness(
  over: Partial<BatcherOptions<string>> & {
    /** Virtual cost of a batch of n, in ms (default 0: at once). */
    cost?: (n: number) => number;
    reply?: (payloads: unknown[]) => unknown;
  } = {},
): Harness {
  const clock = new VirtualClock();
  const batches: unknown[][] = [];
  const cost = over.cost ?? (() => 0);
  const reply = over.reply ?? ((p: unknown[]) => p.map((x) => `r:${x}`));
  const batcher = new Batcher<string>({
    mode: "fixed",
    maxBatchSize: 4,
    batchIntervalMs: 100,
    maxLatencyMs: null,
    targetLatencyMs: null,
    maxConcurrentBatches: 1,
    describe: 'handlePost of API "t"',
    clock,
    run: async (payloads) => {
      batches.push(payloads);
      const ms = cost(payloads.length);
      if (ms > 0) await clock.sleep(ms);
      return reply(payloads);
    },
    ...over,
  });
  return { clock, batches, batcher };
}

Deno.test("fixed mode: the first request waits batch_interval, no longer", async () => {
  const { clock, batches, batcher } = harness();
  let done = -1;
  const p = batcher.submit("a", "ia").then((o) => {
    done = clock.t;
    return o;
  });
  await clock.advance(99);
  assertEquals(batches.length, 0);
  await clock.advance(1);
  assertEquals(batches, [["a"]]);
  assertEquals(await p, { value: "r:a", size: 1 });
  assert(done <= 102, `answered at ${done} ms`);
});

Deno.test("fixed mode: a full batch runs at once", async () => {
  const { clock, batches, batcher } = harness();
  const ps = ["a", "b", "c", "d", "e"].map((x) => batcher.submit(x, x));
  await clock.advance(0);
  assertEquals(batches, [["a", "b", "c", "d"]]);
  const got = await Promise.all(ps.slice(0, 4));
  assertEquals(got.map((o) => o.value), ["r:a", "r:b", "r:c", "r:d"]);
  assertEquals(batcher.waiting, 1);
  await clock.advance(100);
  assertEquals(batches[1], ["e"]);
  assertEquals((await ps[4]!).size, 1);
});

Deno.test("max_concurrent_batches: requests arriving during a batch queue for the next", async () => {
  const { clock, batches, batcher } = harness({
    maxBatchSize: 2,
    cost: () => 50,
  });
  const ps = ["a", "b", "c", "d", "e"].map((x) => batcher.submit(x, x));
  await clock.advance(0);
  assertEquals(batches.length, 1);
  assertEquals(batcher.running, 1);
  await clock.advance(50);
  assertEquals(batches, [["a", "b"], ["c", "d"]]);
  await clock.advance(50);
  // "e" waited 100 ms already: it runs as soon as the slot frees.
  assertEquals(batches[2], ["e"]);
  await clock.advance(50);
  assertEquals((await Promise.all(ps)).map((o) => o.value), [
    "r:a",
    "r:b",
    "r:c",
    "r:d",
    "r:e",
  ]);
});

Deno.test("per-item errors fail only their request", async () => {
  const { clock, batcher } = harness({
    reply: () => [
      "ok",
      new HttpError(422, "bad item"),
      new GrpcError(Code.NOT_FOUND, "missing"),
      new Error("boom"),
    ],
  });
  const ps = ["a", "b", "c", "d"].map((x) => batcher.submit(x, x));
  ps.forEach((p) => p.catch(() => {}));
  await clock.advance(0);
  assertEquals((await ps[0]!).value, "ok");
  const e1 = await assertRejects(() => ps[1]!, HttpError);
  assertEquals(e1.status, 422);
  const e2 = await assertRejects(() => ps[2]!, GrpcError);
  assertEquals(e2.code, Code.NOT_FOUND);
  await assertRejects(() => ps[3]!, Error, "boom");
});

Deno.test("a wrong-length or non-array return fails every request with a 500 saying why", async () => {
  for (
    const [reply, says] of [
      [() => ["only one"], "returned an array of 1 for a batch of 2"],
      [() => ({ a: 1 }), "returned object for a batch of 2"],
      [() => null, "returned null for a batch of 2"],
    ] as const
  ) {
    const { clock, batcher } = harness({ maxBatchSize: 2, reply });
    const ps = ["a", "b"].map((x) => batcher.submit(x, x));
    ps.forEach((p) => p.catch(() => {}));
    await clock.advance(0);
    for (const p of ps) {
      const e = await assertRejects(() => p, HttpError, says);
      assertEquals(e.status, 500);
      assert(e.message.includes("must return an array of 2 results"));
    }
  }
});

Deno.test("a batch that throws fails every request of it with that error", async () => {
  const { clock, batcher } = harness({
    maxBatchSize: 2,
    run: () => {
      throw new HttpError(400, "nope");
    },
  });
  const ps = ["a", "b"].map((x) => batcher.submit(x, x));
  ps.forEach((p) => p.catch(() => {}));
  await clock.advance(0);
  for (const p of ps) await assertRejects(() => p, HttpError, "nope");
});

Deno.test("cancellation or timeout of a waiting request: it leaves the batch", async () => {
  const { clock, batches, batcher } = harness();
  const gone = new AbortController();
  const timeout = new AbortController();
  clock.setTimer(
    () => timeout.abort(new DOMException("Request timed out", "TimeoutError")),
    30,
  );
  const pa = batcher.submit("a", "a", gone.signal);
  const pb = batcher.submit("b", "b", timeout.signal);
  const pc = batcher.submit("c", "c");
  pa.catch(() => {});
  pb.catch(() => {});
  gone.abort(new DOMException("client gone", "AbortError"));
  await assertRejects(() => pa, DOMException, "client gone");
  await clock.advance(30);
  await assertRejects(() => pb, DOMException, "timed out");
  assertEquals(batcher.waiting, 1);
  await clock.advance(70);
  assertEquals(batches, [["c"]]);
  assertEquals((await pc).value, "r:c");
});

Deno.test("timeout of a running request: it fails at once, the others get their results", async () => {
  const { clock, batcher } = harness({ maxBatchSize: 2, cost: () => 100 });
  const timeout = new AbortController();
  const pa = batcher.submit("a", "a", timeout.signal);
  const pb = batcher.submit("b", "b");
  pa.catch(() => {});
  await clock.advance(10);
  timeout.abort(new DOMException("Request timed out", "TimeoutError"));
  await assertRejects(() => pa, DOMException, "timed out");
  assertEquals(batcher.running, 1);
  await clock.advance(90);
  assertEquals(await pb, { value: "r:b", size: 2 });
});

Deno.test("max_latency: a request never waits longer, it gets a 503 with Retry-After", async () => {
  const shed: Array<[string[], number]> = [];
  const { clock, batcher } = harness({
    maxBatchSize: 2,
    batchIntervalMs: 10,
    maxLatencyMs: 50,
    cost: () => 200,
    onShed: (infos, waited) => shed.push([infos, waited]),
  });
  const first = ["a", "b"].map((x) => batcher.submit(x, x));
  await clock.advance(0);
  const late = batcher.submit("c", "c");
  late.catch(() => {});
  await clock.advance(50);
  const e = await assertRejects(() => late, HttpError, "max_latency");
  assertEquals(e.status, 503);
  assertEquals(e.headers["retry-after"], "1");
  assertEquals(shed, [[["c"], 50]]);
  await clock.advance(150);
  assertEquals((await Promise.all(first)).length, 2);
});

Deno.test("fitCost fits a*n+b, never negative", () => {
  const model = fitCost([1, 2, 4, 8].map((n) => ({ n, ms: 0.5 * n + 5 })))!;
  assert(Math.abs(model.a - 0.5) < 1e-9 && Math.abs(model.b - 5) < 1e-9);
  assertEquals(fitCost([]), null);
  assertEquals(fitCost([{ n: 3, ms: 7 }]), { a: 0, b: 7 });
  assertEquals(fitCost([{ n: 1, ms: 9 }, { n: 2, ms: 5 }]), { a: 0, b: 7 });
  const b0 = fitCost([{ n: 1, ms: 1 }, { n: 10, ms: 20 }])!;
  assertEquals(b0.b, 0);
  assert(b0.a > 1.9 && b0.a < 2.1);
});

function adaptive(cost: (n: number) => number, over = {}) {
  const sizes: number[] = [];
  const h = harness({
    mode: "adaptive",
    maxBatchSize: 32,
    maxLatencyMs: 100,
    cost,
    onBatch: (size) => sizes.push(size),
    ...over,
  });
  return { ...h, sizes };
}

/** Closed-loop clients: each sends again `think` ms after its answer. */
async function closedLoop(
  h: ReturnType<typeof adaptive>,
  clients: number,
  think: number,
  ms: number,
): Promise<number[]> {
  const latencies: number[] = [];
  const stop = h.clock.t + ms;
  const client = async (i: number) => {
    let k = 0;
    while (h.clock.t < stop) {
      const sent = h.clock.t;
      await h.batcher.submit(`${i}:${k++}`, "x");
      latencies.push(h.clock.t - sent);
      await h.clock.sleep(think);
    }
  };
  const all = Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  // Stagger like real connections opening.
  await h.clock.advance(ms + 1000);
  await all;
  return latencies;
}

Deno.test("adaptive: a lone client is never held (cost 5 ms + 0.5 ms per item)", async () => {
  const h = adaptive((n) => 5 + 0.5 * n);
  const latencies = await closedLoop(h, 1, 0.2, 1000);
  assert(latencies.length > 100);
  assert(h.sizes.every((n) => n === 1));
  // Served as it arrives: the batch cost and nothing else.
  assert(latencies.every((l) => l <= 5.5 + 1), String(latencies.slice(0, 5)));
});

Deno.test("adaptive: under load with a fixed cost, batches grow and throughput rises", async () => {
  const h = adaptive((n) => 5 + 0.5 * n);
  const latencies = await closedLoop(h, 64, 0.1, 2000);
  const unbatched = 2000 / 5.5;
  assert(
    latencies.length >= 3 * unbatched,
    `${latencies.length} answers vs ${Math.round(unbatched)} unbatched`,
  );
  assert(Math.max(...latencies) <= 100, `max ${Math.max(...latencies)} ms`);
  const mean = h.sizes.reduce((a, b) => a + b, 0) / h.sizes.length;
  assert(mean > 8, `mean batch ${mean}`);
});

Deno.test("adaptive: when cost is per item only, waiting buys nothing", async () => {
  const h = adaptive((n) => 1 * n);
  await closedLoop(h, 4, 3, 1000);
  // Requests are never held for company: a batch holds what already waited.
  assert(h.sizes.filter((n) => n > 1).length < h.sizes.length / 2);
});

/** Runs batches of these sizes one after the other, to teach the model. */
async function warmUp(h: ReturnType<typeof adaptive>, sizes: number[]) {
  for (const n of sizes) {
    const ps = Array.from({ length: n }, (_, i) => h.batcher.submit(i, "w"));
    await h.clock.advance(200);
    await Promise.all(ps);
  }
  h.sizes.length = 0;
}

Deno.test("adaptive: holds requests for company while it pays, within target_latency", async () => {
  // Open loop, a request every 2 ms, batches cost 20 ms + 0.1 ms per item,
  // two at a time: unbatched, this would need 10 batch slots.
  const h = adaptive((n) => 20 + 0.1 * n, {
    targetLatencyMs: 30,
    maxConcurrentBatches: 2,
  });
  await warmUp(h, [1, 4, 2, 8]);
  const latencies: number[] = [];
  for (let i = 0; i < 500; i++) {
    const sent = h.clock.t;
    void h.batcher.submit(i, "x").then(() => latencies.push(h.clock.t - sent));
    await h.clock.advance(2);
  }
  await h.clock.advance(200);
  assertEquals(latencies.length, 500);
  const sorted = latencies.toSorted((a, b) => a - b);
  const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
  const mean = h.sizes.reduce((a, b) => a + b, 0) / h.sizes.length;
  assert(mean >= 5, `mean batch ${mean}`);
  // Near the target (the wait for a free batch slot comes on top), and
  // never past max_latency.
  assert(p99 <= 36, `p99 ${p99} ms`);
  assert(sorted.at(-1)! <= 100);
});

Deno.test("adaptive: with cost per item only, a request is not held", async () => {
  const h = adaptive((n) => 2 * n, { targetLatencyMs: 30 });
  await warmUp(h, [1, 4, 2, 8]);
  const start = h.clock.t;
  const first = h.batcher.submit("first", "x").then(() => h.clock.t - start);
  await h.clock.advance(1);
  h.batcher.submit("second", "x");
  await h.clock.advance(100);
  assertEquals(h.sizes[0], 1);
  assertEquals(await first, 2);
});
