import assert from "node:assert/strict";
import { FILES } from "../config/_testing.ts";
import { parseApiConfigs } from "../config/parse_api_configs.ts";
import type { ApiConfig, Project } from "../config/resolved_config.ts";
import type { Logger } from "../log/logger.ts";
import type { Replica } from "./replica.ts";
import type { ReplicaSocket } from "./replica_socket.ts";
import {
  DEFAULT_REPLICA_MEMORY,
  hangMsOf,
  memoryLimitOf,
  type PoolDeps,
  ReplicaPool,
} from "./replica_pool.ts";

/** An API from cortex.yaml text: `handler` keys, then other sections. */
function apiOf(extra = "", handler = ""): ApiConfig {
  return parseApiConfigs(
    `name: iris\nhandler: {path: handler.ts${handler}}\n${extra}`,
    "cortex.yaml",
    FILES,
  )[0]!;
}

/** Dependencies that start nothing: these tests never spawn a replica. */
function fakeDeps(maxLocalReplicas = 10): PoolDeps {
  const never = () => {
    throw new Error("the test started a replica");
  };
  return {
    project: { dir: "/srv/iris" } as unknown as Project,
    scratchRoot: "/nonexistent",
    listen: () => null,
    socket: {} as ReplicaSocket,
    command: never,
    log: () => {},
    routes: () => [],
    apiNames: () => ["iris"],
    accessLog: false,
    runtimeLogLevel: "info",
    control: false,
    logger: {} as Logger,
    onMessage: () => {},
    onExit: () => {},
    onListeningChange: () => {},
    maxLocalReplicas,
  };
}

/** A replica as the pool sees it: its state and counters. */
function fake(
  id: string,
  state: Replica["state"],
  reported = 0,
  counters: Partial<Record<"queued" | "handedOff" | "reconnects", number>> = {},
): Replica {
  const replica = {
    id,
    state,
    sent: 0,
    reportedLoad: reported,
    // As Replica.load: what it reported, or what was sent to it if more.
    get load(): number {
      return Math.max(replica.reportedLoad, replica.sent);
    },
    queued: counters.queued ?? 0,
    handedOff: counters.handedOff ?? 0,
    reconnects: counters.reconnects ?? 0,
  };
  return replica as unknown as Replica;
}

/** Runs `fn` with a pool of `replicas`, then stops the pool's watchdog. */
async function withPool(
  api: ApiConfig,
  replicas: Replica[],
  fn: (pool: ReplicaPool) => void,
  deps = fakeDeps(),
): Promise<void> {
  const pool = new ReplicaPool(api, deps);
  for (const r of replicas) pool.replicas.add(r);
  try {
    fn(pool);
  } finally {
    pool.replicas.clear();
    await pool.stop(0);
  }
}

Deno.test("hangMsOf(): the request timeout up to 5 s, plus 1 s", () => {
  const table: Array<[string, number]> = [
    ["500ms", 1_500],
    ["4s", 5_000],
    ["60s", 6_000],
  ];
  for (const [timeout, want] of table) {
    const api = apiOf("", `, request_timeout: ${timeout}`);
    assert.equal(hangMsOf(api), want, timeout);
  }
});

Deno.test("memoryLimitOf(): compute.mem in bytes, else 1 GiB", () => {
  const table: Array<[string, number]> = [
    ["", DEFAULT_REPLICA_MEMORY],
    ["compute: {mem: 512Mi}\n", 512 * 2 ** 20],
    ["compute: {mem: 2G}\n", 2e9],
  ];
  for (const [yaml, want] of table) {
    assert.equal(memoryLimitOf(apiOf(yaml)), want, yaml || "no compute.mem");
  }
});

Deno.test("ReplicaPool: the desired count is init_replicas, within min, max and the local cap", async () => {
  const table: Array<[string, number, number]> = [
    ["", 10, 1],
    ["autoscaling: {min_replicas: 3, max_replicas: 5}\n", 10, 3],
    [
      "autoscaling: {min_replicas: 3, max_replicas: 5, init_replicas: 4}\n",
      10,
      4,
    ],
    ["autoscaling: {min_replicas: 3, max_replicas: 5}\n", 2, 2],
  ];
  for (const [yaml, cap, want] of table) {
    await withPool(apiOf(yaml), [], (pool) => {
      assert.equal(pool.desired, want, `${yaml} cap ${cap}`);
    }, fakeDeps(cap));
  }
});

Deno.test("ReplicaPool.acquire(): the least-loaded ready replica, until max_replica_concurrency", async () => {
  const api = apiOf("autoscaling: {max_replica_concurrency: 2}\n");
  const a = fake("a", "ready", 1);
  const b = fake("b", "ready", 0);
  const starting = fake("c", "starting", 0);
  await withPool(api, [a, starting, b], (pool) => {
    assert.equal(pool.leastLoaded(), b);
    assert.equal(pool.limit, 4, "2 ready replicas x 2");
    // load is max(reported, sent): a's first request counts as reported.
    const taken = [1, 2, 3, 4].map(() => pool.acquire()?.id);
    assert.deepEqual(taken, ["b", "a", "a", "b"]);
    assert.equal(pool.acquire(), null, "every ready replica holds 2");
    assert.equal(pool.inFlight, 4);
    pool.release(a);
    assert.equal(a.sent, 1);
    assert.equal(pool.acquire(), a, "a has room again");
    for (let i = 0; i < 3; i++) pool.release(b);
    assert.equal(b.sent, 0, "release never goes below zero");
  });
});

Deno.test("ReplicaPool.acquireFree(): another ready replica with a free slot, or null", async () => {
  const api = apiOf("", ", threads_per_process: 2");
  const from = fake("from", "ready", 0);
  const busy = fake("busy", "ready", 2);
  const one = fake("one", "ready", 1);
  const idle = fake("idle", "starting", 0);
  await withPool(api, [from, busy, one, idle], (pool) => {
    assert.equal(pool.acquireFree(from), one);
    assert.equal(one.sent, 1, "admitted like acquire()");
    one.sent = 2;
    assert.equal(pool.acquireFree(from), null, "every other replica is full");
    assert.equal(pool.acquireFree(one), from, "the sender is never picked");
  });
});

Deno.test("ReplicaPool: counters sum over replicas; status follows readiness and errors", async () => {
  const a = fake("a", "ready", 2, { queued: 1, handedOff: 3, reconnects: 1 });
  const b = fake("b", "draining", 1, { queued: 2, handedOff: 4 });
  await withPool(apiOf(), [a, b], (pool) => {
    assert.deepEqual(
      [pool.inFlight, pool.queued, pool.handedOff, pool.reconnects],
      [3, 3, 7, 1],
    );
    assert.deepEqual(pool.ready, [a]);
    assert.equal(pool.status, "live");
    pool.error = "constructor threw";
    assert.equal(pool.status, "live", "an error with a ready replica");
    a.state = "stopped";
    assert.equal(pool.status, "error");
    pool.error = null;
    assert.equal(pool.status, "updating", "no replica ready yet");
  });
});

Deno.test("ReplicaPool watchdog: its own process's stall is not the replicas' silence; a replica that stays silent is still hung", async () => {
  const api = apiOf("", ", request_timeout: 1s");
  const hangMs = hangMsOf(api);
  const killed: string[] = [];
  const replica = Object.assign(fake("iris-1", "ready"), {
    lastSeen: Date.now(),
    rss: 0,
    kill: (reason: string) => {
      killed.push(reason);
      replica.state = "stopped";
    },
  }) as unknown as Replica;
  const pool = new ReplicaPool(api, fakeDeps());
  pool.replicas.add(replica);
  try {
    // The serving process blocks longer than the hang limit (as a 512 MiB
    // string once made it); the replica's heartbeats are not read meanwhile.
    const until = Date.now() + hangMs + 500;
    while (Date.now() < until) { /* a long synchronous task */ }
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(killed, [], "killed for the serving process's own stall");
    // Silent while the process runs: hung within the limit (and ticks).
    await new Promise((r) => setTimeout(r, hangMs + 600));
    assert.deepEqual(killed, ["hung"]);
  } finally {
    pool.replicas.clear();
    await pool.stop(0);
  }
});
