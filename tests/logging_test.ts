/**
 * Structured JSON logging: one JSON object per stdout line (withServer checks
 * every line of every test), labels, extra, reserved keys, console capture,
 * exceptions, access lines, log levels, and no torn lines under load.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";

const PROJECT = fixture("logging");
const labels = (l: LogLine) => (l.labels ?? {}) as Record<string, unknown>;

async function get(url: string, query: string): Promise<string> {
  const res = await fetch(`${url}/logging?${query}`);
  const id = res.headers.get("x-request-id")!;
  await res.body?.cancel();
  return id;
}

Deno.test("logging: handler lines are JSON with labels, extra and reserved keys kept", async (t) => {
  await withServer(PROJECT, {}, async ({ url, lines, waitForLine }) => {
    // The serving process (under a supervisor it is not the one we started).
    const serving = await waitForLine((l) =>
      String(l.message).startsWith("Serving on")
    );
    const pid = serving.process;
    assert.ok(Number.isInteger(pid) && (pid as number) > 0);
    // Handler lines carry the pid of their replica, a process of its own.
    let replicaPid: unknown = null;
    await t.step("ctx.logger.info with extra flattened one level", async () => {
      const id = await get(url, "case=extra");
      const line = await waitForLine((l) => l.message === "With extra");
      assert.equal(line.levelname, "INFO");
      assert.equal(line.user, "ada");
      assert.equal(line.count, 3);
      assert.deepEqual(line.nested, { deep: { value: 1 } });
      assert.equal(typeof line.asctime, "string");
      assert.ok(!Number.isNaN(Date.parse(String(line.asctime))));
      assert.ok(Number.isInteger(line.process) && line.process !== pid);
      replicaPid = line.process;
      assert.deepEqual(labels(line), {
        apiName: "logging",
        apiKind: "RealtimeAPI",
        replicaId: labels(line).replicaId,
        requestId: id,
      });
      assert.match(String(labels(line).replicaId), /^logging-\d+$/);
    });

    await t.step("reserved keys in extra do not override", async () => {
      await get(url, "case=reserved");
      const line = await waitForLine((l) => l.kept === "yes");
      assert.equal(line.message, "Real message");
      assert.equal(line.levelname, "INFO");
      assert.notEqual(line.asctime, "1970");
      assert.equal(labels(line).apiName, "logging");
      assert.equal(line.process, replicaPid);
    });

    await t.step(
      "console.log/warn/error become INFO/WARNING/ERROR with labels",
      async () => {
        const id = await get(url, "case=console");
        const expected = [
          ["from console.log", "INFO"],
          ["from console.warn", "WARNING"],
          ["from console.error", "ERROR"],
        ];
        for (const [text, level] of expected) {
          const line = await waitForLine((l) =>
            String(l.message).startsWith(text!)
          );
          assert.equal(line.levelname, level, `level of "${text}"`);
          assert.equal(labels(line).requestId, id);
          assert.equal(labels(line).apiName, "logging");
          assert.equal(labels(line).apiKind, "RealtimeAPI");
          assert.match(String(labels(line).replicaId), /^logging-\d+$/);
        }
        const withObject = await waitForLine((l) =>
          String(l.message).startsWith("from console.log")
        );
        assert.match(String(withObject.message), /n: 1/);
      },
    );

    await t.step(
      "console.log in the constructor is labelled, without a requestId",
      () => {
        const line = lines().find((l) =>
          l.message === "constructor console line"
        );
        assert.ok(line, "constructor line missing");
        assert.equal(labels(line).apiName, "logging");
        assert.ok(!("requestId" in labels(line)));
      },
    );

    await t.step("a thrown error is logged with exc_info", async () => {
      const id = await get(url, "case=throw");
      const line = await waitForLine((l) =>
        labels(l).requestId === id && "exc_info" in l
      );
      assert.equal(line.levelname, "ERROR");
      assert.match(String(line.exc_info), /TypeError: thrown for exc_info/);
      assert.match(String(line.exc_info), /handler\.ts:\d+/);
    });

    await t.step(
      "the access line has method, path, status, latencyMs, requestId",
      async () => {
        const id = await get(url, "case=none");
        const line = await waitForLine((l) => l.requestId === id);
        assert.equal(line.method, "GET");
        assert.equal(line.path, "/logging");
        assert.equal(line.status, 200);
        assert.equal(typeof line.latencyMs, "number");
        assert.ok((line.latencyMs as number) >= 0);
        assert.equal(labels(line).requestId, id);
      },
    );

    await t.step("the default level (info) drops debug lines", async () => {
      const id = await get(url, "case=levels");
      await waitForLine((l) =>
        l.message === "level error" && labels(l).requestId === id
      );
      const mine = lines().filter((l) => labels(l).requestId === id).map((l) =>
        l.message
      );
      assert.ok(!mine.includes("level debug"));
      assert.ok(mine.includes("level info") && mine.includes("level warning"));
    });
  });
});

Deno.test("logging: handler.log_level warning filters the handler's info lines", async () => {
  await withServer(
    fixture("log_level"),
    {},
    async ({ url, lines, waitForLine }) => {
      const res = await fetch(`${url}/quiet`);
      const id = res.headers.get("x-request-id");
      await res.body?.cancel();
      await waitForLine((l) => l.message === "loud console.error");
      await waitForLine((l) => l.message === "loud warning");
      const mine = lines().filter((l) => labels(l).requestId === id).map((l) =>
        String(l.message)
      );
      for (const quiet of ["quiet debug", "quiet info", "quiet console.log"]) {
        assert.ok(!mine.includes(quiet), `${quiet} was logged`);
      }
    },
  );
});

Deno.test("logging: 200 requests, 32 at a time, give whole lines each with its requestId", async () => {
  await withServer(PROJECT, {}, async ({ url, lines, waitForLine }) => {
    const ids: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < 200) {
        const n = next++;
        const res = await fetch(`${url}/logging?case=load&n=${n}`);
        assert.equal(res.status, 200);
        const id = res.headers.get("x-request-id")!;
        assert.deepEqual(await res.json(), { requestId: id });
        ids[n] = id;
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    assert.equal(new Set(ids).size, 200);
    const last = ids[199]!;
    await waitForLine((l) => l.requestId === last);
    // Wait for every request's three lines (stdout is written asynchronously).
    await waitForLine(
      () =>
        lines().filter((l) => String(l.message).startsWith("load line 3 of "))
          .length >= 200,
      20_000,
    );
    const byId = new Map<string, LogLine[]>();
    for (const l of lines()) {
      const id = labels(l).requestId as string | undefined;
      if (id && String(l.message).startsWith("load line")) {
        byId.set(id, [...byId.get(id) ?? [], l]);
      }
    }
    for (let n = 0; n < 200; n++) {
      const own = byId.get(ids[n]!) ?? [];
      assert.deepEqual(
        own.map((l) => String(l.message)).sort(),
        [`load line 1 of ${n}`, `load line 2 of ${n}`, `load line 3 of ${n}`],
        `request ${n} (${ids[n]})`,
      );
      const big = own.find((l) => String(l.message).startsWith("load line 3"))!;
      assert.equal(String(big.big).length, 10 * 1024);
      assert.equal(big.levelname, "WARNING");
    }
  });
});
