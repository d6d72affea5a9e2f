import assert from "node:assert/strict";
import { RequestStats } from "../metrics/request_stats.ts";
import type { ToReplica } from "../wire/replica_messages.ts";
import { Forwarding, isStreamedAnswer } from "./forwarding.ts";
import type { Replica } from "./replica.ts";
import type { ReplicaPool } from "./replica_pool.ts";

/** A replica that records what the serving process sends it. */
function fakeReplica(id: string): Replica & { got: ToReplica[] } {
  const got: ToReplica[] = [];
  return { id, got, send: (msg: ToReplica) => got.push(msg) } as unknown as
    & Replica
    & { got: ToReplica[] };
}

/**
 * A pool of one API that admits into `replicas` in order (null: at its
 * limit) and counts releases.
 */
function fakePool(
  opts: { ready?: boolean; admit?: Array<Replica | null>; maxBody?: number },
) {
  const admit = [...(opts.admit ?? [])];
  const released: string[] = [];
  const pool = {
    api: { name: "iris", handler: { maxBodyBytes: opts.maxBody ?? 1024 } },
    mainStats: new RequestStats(),
    leastLoaded: () => opts.ready === false ? null : {},
    acquire: () => admit.shift() ?? null,
    acquireFree: (_from: Replica) => admit.shift() ?? null,
    release: (r: Replica) => void released.push(r.id),
  };
  return { pool: pool as unknown as ReplicaPool, released };
}

/** The request message the replica got (the last one). */
function lastRequest(replica: { got: ToReplica[] }) {
  const msg = replica.got.at(-1);
  assert.equal(msg?.type, "http.request");
  return msg as Extract<ToReplica, { type: "http.request" }>;
}

const wire = (status: number, body: string) => ({
  status,
  headers: [["content-type", "text/plain"]] as [string, string][],
  body: new TextEncoder().encode(body),
});

Deno.test("Forwarding.send(): answers decided here, counted in the pool's own stats", async () => {
  const table: Array<
    [string, Parameters<typeof fakePool>[0], Request, number, RegExp]
  > = [
    [
      "no ready replica",
      { ready: false },
      new Request("http://x/iris"),
      503,
      /API "iris" has no ready replica/,
    ],
    [
      "body over the limit",
      { maxBody: 4 },
      new Request("http://x/iris", { method: "POST", body: "12345" }),
      413,
      /limit of 4 bytes \(handler\.max_body_size\)/,
    ],
    [
      "every replica at its limit",
      { admit: [null] },
      new Request("http://x/iris"),
      503,
      /at its concurrency and queue limit/,
    ],
  ];
  for (const [name, opts, req, status, message] of table) {
    const { pool } = fakePool(opts);
    const res = await new Forwarding().send(pool, req);
    assert.equal(res.status, status, name);
    assert.match((await res.json()).error, message, name);
    if (status === 503) assert.equal(res.headers.get("retry-after"), "1");
    assert.equal(pool.mainStats.snapshot()[String(status)]?.count, 1, name);
  }
});

Deno.test("Forwarding.send(): the admitted replica's answer, only from that replica", async () => {
  const a = fakeReplica("a");
  const b = fakeReplica("b");
  const { pool, released } = fakePool({ admit: [a] });
  const f = new Forwarding();
  const answer = f.send(
    pool,
    new Request("http://x/iris?q=1", { method: "POST", body: "hi" }),
  );
  await new Promise((r) => setTimeout(r, 0));
  const msg = lastRequest(a);
  assert.equal(msg.admitted, true);
  assert.equal(msg.req.url, "http://x/iris?q=1");
  assert.equal(new TextDecoder().decode(msg.req.body!), "hi");
  f.resolve(msg.id, wire(200, "from b"), b);
  f.resolve(msg.id, wire(201, "from a"), a);
  const res = await answer;
  assert.equal(res.status, 201);
  assert.equal(await res.text(), "from a");
  assert.deepEqual(released, ["a"]);
  assert.deepEqual(pool.mainStats.snapshot(), {}, "a replica counted it");
});

Deno.test("Forwarding: an aborted request is cancelled on its replica", async () => {
  const a = fakeReplica("a");
  const { pool } = fakePool({ admit: [a] });
  const f = new Forwarding();
  const abort = new AbortController();
  const answer = f.send(
    pool,
    new Request("http://x/iris", { signal: abort.signal }),
  );
  await new Promise((r) => setTimeout(r, 0));
  const { id } = lastRequest(a);
  abort.abort();
  assert.deepEqual(a.got.at(-1), { type: "http.cancel", id });
  f.resolve(id, wire(499, ""), a);
  await (await answer).body?.cancel();
});

Deno.test("Forwarding.replicaExited(): 504 for a hung replica, 500 naming why otherwise", async () => {
  for (
    const [reason, status, message] of [
      ["hung", 504, /Replica "a" stopped answering/],
      ["crashed", 500, /Replica "a" ended: exit code 9/],
    ] as const
  ) {
    const a = fakeReplica("a");
    const { pool, released } = fakePool({ admit: [a] });
    const f = new Forwarding();
    const answer = f.send(pool, new Request("http://x/iris"));
    await new Promise((r) => setTimeout(r, 0));
    f.replicaExited(a, { reason, message: "exit code 9" } as never);
    const res = await answer;
    assert.equal(res.status, status, reason);
    assert.match((await res.json()).error, message, reason);
    assert.deepEqual(released, ["a"], reason);
    assert.equal(pool.mainStats.snapshot()[String(status)]?.count, 1);
  }
});

Deno.test("Forwarding.handOff(): null without a free replica, else that replica's answer", async () => {
  const from = fakeReplica("from");
  const to = fakeReplica("to");
  const f = new Forwarding();
  const req = {
    method: "GET",
    url: "http://x/iris",
    headers: [],
    body: null,
  };
  const none = fakePool({ admit: [] });
  assert.equal(
    await f.handOff(none.pool, from, req, new AbortController().signal),
    null,
  );
  const { pool } = fakePool({ admit: [to] });
  const answer = f.handOff(pool, from, req, new AbortController().signal);
  const { id } = lastRequest(to);
  f.resolve(id, wire(200, "handed"), to);
  assert.equal(await (await answer)?.text(), "handed");
});

Deno.test("Forwarding: a streamed answer is read on credit and releases the replica at its end", async () => {
  const a = fakeReplica("a");
  const { pool, released } = fakePool({ admit: [a] });
  const f = new Forwarding();
  const answer = f.send(pool, new Request("http://x/iris"));
  await new Promise((r) => setTimeout(r, 0));
  const { id } = lastRequest(a);
  f.resolve(id, { ...wire(200, ""), body: null }, a, true);
  const res = await answer;
  assert.ok(isStreamedAnswer(res));
  const reader = res.body!.getReader();
  const read = reader.read();
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(
    a.got.some((m) => m.type === "http.credit" && m.id === id),
    "the reader asked for a chunk",
  );
  f.chunk(id, new TextEncoder().encode("one"), fakeReplica("other"));
  f.chunk(id, new TextEncoder().encode("one"), a);
  assert.equal(new TextDecoder().decode((await read).value), "one");
  assert.deepEqual(released, [], "held while the stream is open");
  f.end(id, a);
  assert.equal((await reader.read()).done, true);
  assert.deepEqual(released, ["a"]);
});
