/**
 * SupervisedChild with a fake spawn: restarts, and replacement of a running
 * child by a new generation (src/supervisor/child.ts).
 */

import assert from "node:assert/strict";
import {
  type ChildOptions,
  RestartBackoff,
  type SpawnedChild,
  SupervisedChild,
} from "./child.ts";
import { watchReplaceRequests } from "../wire/replace_request.ts";

let nextPid = 1000;

/** A fake process: records its stdin lines; exits when told to. */
class FakeChild implements SpawnedChild {
  readonly pid = nextPid++;
  readonly lines: string[] = [];
  readonly signals: Deno.Signal[] = [];
  readonly stdin: WritableStream<Uint8Array>;
  readonly #status = Promise.withResolvers<Deno.CommandStatus>();
  #exited = false;

  constructor(
    readonly args: string[],
    onLine: (c: FakeChild, l: string) => void,
  ) {
    const decoder = new TextDecoder();
    this.stdin = new WritableStream({
      write: (chunk) => {
        for (const line of decoder.decode(chunk).split("\n")) {
          if (line === "") continue;
          this.lines.push(line);
          onLine(this, line);
        }
      },
    });
  }

  get status(): Promise<Deno.CommandStatus> {
    return this.#status.promise;
  }

  get exited(): boolean {
    return this.#exited;
  }

  exit(code: number, signal: Deno.Signal | null = null): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#status.resolve({ success: code === 0 && !signal, code, signal });
  }

  kill(signal: Deno.Signal = "SIGTERM"): void {
    this.signals.push(signal);
    this.exit(128 + 9, signal);
  }
}

interface Harness {
  child: SupervisedChild;
  spawned: FakeChild[];
  logs: string[];
  /** Resolves `gen`'s readiness. */
  ready(gen: number, ok?: boolean): void;
  run: Promise<number>;
}

/** A SupervisedChild over fake processes that exit 0 on "drain" by default. */
function harness(
  opts: Partial<ChildOptions> & {
    onLine?: (c: FakeChild, l: string) => void;
  } = {},
): Harness {
  const spawned: FakeChild[] = [];
  const logs: string[] = [];
  const readiness = new Map<number, PromiseWithResolvers<boolean>>();
  const readyOf = (gen: number) => {
    if (!readiness.has(gen)) readiness.set(gen, Promise.withResolvers());
    return readiness.get(gen)!;
  };
  const onLine = opts.onLine ??
    ((c: FakeChild, l: string) => l === "drain" && c.exit(0));
  const child = new SupervisedChild({
    name: "Serving process",
    args: (gen) => [`gen=${gen}`],
    minBackoffMs: 10,
    isFinal: (s) => s.signal === null && s.code === 0,
    isReady: (_c, gen) => readyOf(gen).promise,
    log: (level, message) => logs.push(`${level} ${message}`),
    spawn: (args) => {
      const c = new FakeChild(args, onLine);
      spawned.push(c);
      return c;
    },
    ...opts,
  });
  return {
    child,
    spawned,
    logs,
    ready: (gen, ok = true) => readyOf(gen).resolve(ok),
    run: child.run(),
  };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

Deno.test("SupervisedChild: replace() starts a new generation, then drains the old one", async () => {
  const h = harness();
  await tick();
  const [first] = h.spawned;
  assert.deepEqual(first!.args, ["gen=1"]);
  const replaced = h.child.replace("stuck thread");
  await tick();
  assert.equal(h.spawned.length, 2);
  const second = h.spawned[1]!;
  assert.deepEqual(second.args, ["gen=2"]);
  // Not ready yet: the old one is untouched.
  assert.deepEqual(first!.lines, []);
  assert.equal(h.child.replacing, true);
  h.ready(2);
  assert.equal(await replaced, true);
  assert.deepEqual(first!.lines, ["drain"]);
  assert.equal(h.child.child, second);
  assert.ok(first!.exited);
  // The old one's exit is no crash: nothing restarts.
  await tick(30);
  assert.equal(h.spawned.length, 2);
  assert.ok(h.logs.some((l) => l.includes("Replacing the serving process")));
  assert.ok(h.logs.some((l) => /replaced: pid \d+ serves/.test(l)));
  h.child.drain();
  assert.equal(await h.run, 0);
  assert.deepEqual(second.lines, ["drain"]);
});

Deno.test("SupervisedChild: a replacement that never becomes ready is killed and the old one stays", async () => {
  for (
    const fail of [
      (h: Harness) => h.ready(2, false),
      (h: Harness) => h.spawned[1]!.exit(1),
      () => {}, // times out
    ]
  ) {
    const h = harness({ replaceTimeoutMs: 50 });
    await tick();
    const first = h.spawned[0]!;
    const replaced = h.child.replace("stuck thread");
    await tick();
    fail(h);
    assert.equal(await replaced, false);
    assert.ok(h.spawned[1]!.exited);
    assert.deepEqual(first.lines, []);
    assert.equal(h.child.child, first);
    assert.ok(h.logs.some((l) => l.startsWith("ERROR Cannot replace")));
    h.child.drain();
    assert.equal(await h.run, 0);
  }
});

Deno.test("SupervisedChild: one replacement at a time; none while stopping", async () => {
  const h = harness();
  await tick();
  const replaced = h.child.replace("a");
  assert.equal(await h.child.replace("b"), false);
  await tick();
  h.ready(2);
  assert.equal(await replaced, true);
  assert.equal(h.spawned.length, 2);
  h.child.drain();
  assert.equal(await h.child.replace("c"), false);
  assert.equal(await h.run, 0);
  assert.equal(h.spawned.length, 2);
});

Deno.test("SupervisedChild: after a replacement, a crash of the new generation restarts it", async () => {
  const h = harness();
  await tick();
  const replaced = h.child.replace("stuck thread");
  await tick();
  h.ready(2);
  assert.equal(await replaced, true);
  h.spawned[1]!.exit(1, "SIGSEGV");
  await tick(50);
  assert.equal(h.spawned.length, 3);
  assert.deepEqual(h.spawned[2]!.args, ["gen=3"]);
  assert.ok(h.logs.some((l) => l.includes("died (signal SIGSEGV)")));
  h.child.drain();
  assert.equal(await h.run, 0);
});

Deno.test("SupervisedChild: the old generation dying during a replacement cancels it and restarts as usual", async () => {
  const h = harness();
  await tick();
  const replaced = h.child.replace("stuck thread");
  await tick();
  h.spawned[0]!.exit(1);
  assert.equal(await replaced, false);
  assert.deepEqual(h.spawned[1]!.signals, ["SIGKILL"]);
  await tick(50);
  assert.equal(h.spawned.length, 3);
  assert.equal(h.child.child, h.spawned[2]);
  h.child.drain();
  assert.equal(await h.run, 0);
});

Deno.test("SupervisedChild: drain() during a replacement drains both generations and returns 0", async () => {
  // Processes take a while to drain.
  const h = harness({
    onLine: (c, l) => l === "drain" && setTimeout(() => c.exit(0), 20),
  });
  await tick();
  const replaced = h.child.replace("stuck thread");
  await tick();
  h.child.drain();
  assert.equal(await replaced, false);
  assert.equal(await h.run, 0);
  assert.deepEqual(h.spawned[0]!.lines, ["drain"]);
  assert.deepEqual(h.spawned[1]!.lines, ["drain"]);
  assert.deepEqual(h.spawned[1]!.signals, []);
  assert.ok(h.spawned.every((c) => c.exited));
});

Deno.test("SupervisedChild: drain() after a replacement waits for the old generation too", async () => {
  // The old one is slow to drain (a stuck thread until its grace period).
  const h = harness({
    onLine: (c, l) =>
      l === "drain" &&
      setTimeout(() => c.exit(0), c.args[0] === "gen=1" ? 80 : 0),
  });
  await tick();
  const replaced = h.child.replace("stuck thread");
  await tick();
  h.ready(2);
  assert.equal(await replaced, true);
  h.child.drain();
  assert.equal(await h.run, 0);
  assert.ok(h.spawned[0]!.exited, "the old generation exited before run()");
});

Deno.test("watchReplaceRequests() reports each request file once, then stops on abort", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/replace-request`;
    const seen: string[] = [];
    const stop = new AbortController();
    const watching = watchReplaceRequests(
      path,
      stop.signal,
      (r) => seen.push(r),
      10,
    );
    await tick(30);
    assert.deepEqual(seen, []);
    await Deno.writeTextFile(path, JSON.stringify({ reason: "stuck" }));
    await tick(50);
    assert.deepEqual(seen, ["stuck"]);
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    stop.abort();
    await watching;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SupervisedChild: a replacement that cannot even spawn is logged, and the old one stays", async () => {
  let spawns = 0;
  const h = harness({
    beforeSpawn: () => {
      if (++spawns === 2) throw new Error("disk full");
      return Promise.resolve();
    },
  });
  await tick();
  assert.equal(await h.child.replace("stuck thread"), false);
  assert.ok(h.logs.some((l) => l.includes("disk full")), h.logs.join("\n"));
  assert.equal(h.child.child, h.spawned[0]);
  h.child.drain();
  assert.equal(await h.run, 0);
});

Deno.test("SupervisedChild: drain() does not tell a replaced generation to drain twice", async () => {
  // The old one drains slowly; a second "drain" would make it exit at once.
  const h = harness({
    onLine: (c, l) =>
      l === "drain" &&
      setTimeout(() => c.exit(0), c.args[0] === "gen=1" ? 50 : 0),
  });
  await tick();
  const replaced = h.child.replace("stuck thread");
  await tick();
  h.ready(2);
  assert.equal(await replaced, true);
  h.child.drain();
  assert.equal(await h.run, 0);
  assert.deepEqual(h.spawned[0]!.lines, ["drain"]);
  assert.deepEqual(h.spawned[1]!.lines, ["drain"]);
});

Deno.test("RestartBackoff: 100 ms doubling to 2 s while the process dies quickly, back to 100 ms after 10 s up", () => {
  const b = new RestartBackoff();
  const quick = () => b.delayAfter(50);
  assert.deepEqual(
    Array.from({ length: 7 }, quick),
    [100, 200, 400, 800, 1_600, 2_000, 2_000],
  );
  assert.equal(b.delayAfter(9_999), 2_000, "not stable yet");
  assert.equal(b.delayAfter(10_000), 100, "ran 10 s: starts over");
  assert.equal(quick(), 200);
});

Deno.test("SupervisedChild: restart delays double up to maxBackoffMs, and start over after stableAfterMs up", async () => {
  const h = harness({ minBackoffMs: 10, maxBackoffMs: 40, stableAfterMs: 300 });
  const delays = () =>
    h.logs.flatMap((l) => {
      const m = / restarting in (\d+) ms$/.exec(l);
      return m ? [Number(m[1])] : [];
    });
  const crash = async (n: number) => {
    while (h.spawned.length < n) await tick(5);
    h.spawned[n - 1]!.exit(1);
  };
  for (let n = 1; n <= 5; n++) await crash(n);
  while (h.spawned.length < 6) await tick(5);
  assert.deepEqual(delays(), [10, 20, 40, 40, 40]);
  await tick(350); // generation 6 is up long enough
  await crash(6);
  while (h.spawned.length < 7) await tick(5);
  assert.deepEqual(delays(), [10, 20, 40, 40, 40, 10]);
  h.child.drain();
  assert.equal(await h.run, 0);
});
