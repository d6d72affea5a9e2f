import assert from "node:assert/strict";
import { logAccess, Logger } from "./logger.ts";
import type { LoggerOptions } from "./logger.ts";

function setup(opts: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = new Logger({
    level: "info",
    labels: { apiName: "iris", apiKind: "RealtimeAPI", replicaId: "r1" },
    write: (l) => lines.push(...l),
    now: () => new Date("2024-05-01T12:00:01.123Z"),
    pid: 7,
    ...opts,
  });
  const parsed = () => lines.map((l) => JSON.parse(l));
  return { logger, lines, parsed };
}

Deno.test("Logger filters records below its level", async (t) => {
  const table = [
    ["debug", ["DEBUG", "INFO", "WARNING", "ERROR"]],
    ["info", ["INFO", "WARNING", "ERROR"]],
    ["warning", ["WARNING", "ERROR"]],
    ["error", ["ERROR"]],
  ] as const;
  for (const [level, expected] of table) {
    await t.step(level, () => {
      const { logger, parsed } = setup({ level });
      logger.debug("d");
      logger.info("i");
      logger.warning("w");
      logger.error("e");
      assert.deepEqual(parsed().map((r) => r.levelname), expected);
    });
  }
});

Deno.test("Logger.enabled() compares levels", () => {
  const { logger } = setup({ level: "warning" });
  assert.equal(logger.enabled("info"), false);
  assert.equal(logger.enabled("warning"), true);
  assert.equal(logger.enabled("error"), true);
});

Deno.test("Logger writes labels, pid, time and extra", () => {
  const { logger, parsed } = setup();
  logger.info("hello", { extra: { n: 1 } });
  assert.deepEqual(parsed(), [{
    asctime: "2024-05-01T12:00:01.123Z",
    levelname: "INFO",
    message: "hello",
    n: 1,
    labels: { apiName: "iris", apiKind: "RealtimeAPI", replicaId: "r1" },
    process: 7,
  }]);
});

Deno.test("Logger.exception() writes ERROR with exc_info", () => {
  const { logger, parsed } = setup();
  logger.exception("failed", new Error("boom"), { extra: { k: "v" } });
  const [rec] = parsed();
  assert.equal(rec.levelname, "ERROR");
  assert.equal(rec.k, "v");
  assert.match(rec.exc_info, /^Error: boom\n/);
});

Deno.test("Logger.child() merges labels and shares the sink", () => {
  const { logger, parsed } = setup();
  const child = logger.child({ requestId: "abc", replicaId: "r2" });
  child.info("in request");
  logger.info("outside");
  const [a, b] = parsed();
  assert.deepEqual(a.labels, {
    apiName: "iris",
    apiKind: "RealtimeAPI",
    replicaId: "r2",
    requestId: "abc",
  });
  assert.equal(b.labels.requestId, undefined);
  assert.equal(child.level, "info");
});

Deno.test("Logger never throws when the sink or arguments misbehave", () => {
  const logger = new Logger({
    level: "debug",
    labels: {},
    write: () => {
      throw new Error("port closed");
    },
  });
  logger.info("x");
  const { logger: l2, parsed } = setup();
  // Untyped callers (JavaScript handlers) may pass anything.
  l2.info(42 as unknown as string, { extra: "nope" } as never);
  l2.info(Object.create(null) as string);
  assert.equal(parsed()[0].message, "42");
  assert.equal(parsed()[1].message, "{}");
});

Deno.test("Logger in pretty format writes readable lines", () => {
  const { logger, lines } = setup({ format: "pretty", color: false });
  logger.warning("careful", { extra: { n: 2 } });
  assert.deepEqual(lines, ["12:00:01.123 WARNING [iris r1] careful n=2"]);
});

Deno.test("logAccess() writes one INFO line per request", () => {
  const { logger, parsed } = setup();
  logAccess(logger, {
    method: "POST",
    path: "/iris",
    status: 200,
    latencyMs: 1.23456,
    requestId: "abc",
    bytesIn: 12,
    bytesOut: 34,
  });
  const [rec] = parsed();
  assert.equal(rec.levelname, "INFO");
  assert.equal(rec.message, "POST /iris 200 1.2ms");
  assert.equal(rec.method, "POST");
  assert.equal(rec.path, "/iris");
  assert.equal(rec.status, 200);
  assert.equal(rec.latencyMs, 1.235);
  assert.equal(rec.requestId, "abc");
  assert.equal(rec.bytesIn, 12);
  assert.equal(rec.bytesOut, 34);
});

Deno.test("logAccess() respects the logger level", () => {
  const { logger, lines } = setup({ level: "warning" });
  logAccess(logger, {
    method: "GET",
    path: "/",
    status: 200,
    latencyMs: 1,
    requestId: "x",
    bytesIn: 0,
    bytesOut: 0,
  });
  assert.equal(lines.length, 0);
});
