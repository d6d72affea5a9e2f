import assert from "node:assert/strict";
import { makeConsole } from "./console_capture.ts";
import { Logger } from "./logger.ts";
import type { LogLevel } from "../config/resolved_config.ts";

function setup(level: LogLevel = "debug") {
  const lines: string[] = [];
  const logger = new Logger({
    level,
    labels: { apiName: "iris", replicaId: "r1", requestId: "abc" },
    write: (l) => lines.push(...l),
    pid: 1,
  });
  const records = () =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const messages = () => records().map((r) => r.message);
  return { console: makeConsole(logger), records, messages };
}

Deno.test("makeConsole() maps methods to levels with the logger's labels", async (t) => {
  const table = [
    ["log", "INFO"],
    ["info", "INFO"],
    ["warn", "WARNING"],
    ["error", "ERROR"],
    ["debug", "DEBUG"],
    ["dirxml", "INFO"],
  ] as const;
  for (const [method, levelname] of table) {
    await t.step(method, () => {
      const { console: c, records } = setup();
      c[method]("hello");
      const [rec] = records();
      assert.equal(rec?.levelname, levelname);
      assert.equal(rec?.message, "hello");
      assert.deepEqual(rec?.labels, {
        apiName: "iris",
        replicaId: "r1",
        requestId: "abc",
      });
    });
  }
});

Deno.test("makeConsole() formats arguments like console", () => {
  const { console: c, messages } = setup();
  c.log("a", 1, { b: [1, 2] }, null, undefined, "z");
  c.log("%s is %d years and %i, %f%%", "Bob", 42.5, 7.9, 1.5, "extra");
  c.log("%o and %j and %c!", { x: 1 }, { y: 2 }, "color: red");
  c.log("%s missing %d");
  c.log(10n, Symbol("s"));
  c.log();
  assert.deepEqual(messages(), [
    "a 1 { b: [ 1, 2 ] } null undefined z",
    "Bob is 42.5 years and 7, 1.5% extra",
    '{ x: 1 } and {"y":2} and !',
    "%s missing %d",
    "10n Symbol(s)",
    "",
  ]);
});

Deno.test("makeConsole() inspects errors with their stack", () => {
  const { console: c, messages } = setup();
  c.error("failed:", new Error("boom"));
  assert.match(String(messages()[0]), /^failed: Error: boom\n\s+at /);
});

Deno.test("makeConsole() trace writes DEBUG with a stack", () => {
  const { console: c, records } = setup();
  c.trace("here", 1);
  const [rec] = records();
  assert.equal(rec?.levelname, "DEBUG");
  assert.match(String(rec?.message), /^Trace: here 1\n\s+at /);
});

Deno.test("makeConsole() respects the logger level", () => {
  const { console: c, messages } = setup("warning");
  c.log("no");
  c.debug("no");
  c.trace("no");
  c.warn("yes");
  assert.deepEqual(messages(), ["yes"]);
});

Deno.test("makeConsole() supports assert, count, time and group", () => {
  const { console: c, records, messages } = setup();
  c.assert(true, "never");
  c.assert(false, "x is %d", 3);
  c.assert(false);
  c.count();
  c.count("k");
  c.count();
  c.countReset();
  c.count();
  c.time("t");
  c.time("t");
  c.timeLog("t", "mid");
  c.timeEnd("t");
  c.timeEnd("t");
  c.group("outer");
  c.log("inner\nsecond");
  c.groupEnd();
  c.groupEnd();
  c.log("after");
  c.clear();
  c.timeStamp();
  const m = messages();
  assert.equal(records()[0]?.levelname, "ERROR");
  assert.deepEqual(m.slice(0, 6), [
    "Assertion failed: x is 3",
    "Assertion failed",
    "default: 1",
    "k: 1",
    "default: 2",
    "default: 1",
  ]);
  assert.equal(m[6], 'Timer "t" already exists');
  assert.match(String(m[7]), /^t: \d+\.\d{3}ms mid$/);
  assert.match(String(m[8]), /^t: \d+\.\d{3}ms$/);
  assert.equal(m[9], 'Timer "t" does not exist');
  assert.deepEqual(m.slice(10), ["outer", "  inner\n  second", "after"]);
});

Deno.test("makeConsole() dir and table", () => {
  const { console: c, messages } = setup();
  c.dir({ a: { b: { c: { d: 1 } } } }, { depth: 0 });
  c.table([{ a: 1, b: "x" }, { a: 2 }, 3]);
  c.table({ r: { a: 1 } }, ["a"]);
  c.table("str");
  const m = messages();
  assert.equal(m[0], "{ a: [Object] }");
  assert.deepEqual(String(m[1]).split("\n"), [
    "│ (idx) │ a │ b   │ Values │",
    '│ 0     │ 1 │ "x" │        │',
    "│ 1     │ 2 │     │        │",
    "│ 2     │   │     │ 3      │",
  ]);
  assert.deepEqual(String(m[2]).split("\n"), [
    "│ (idx) │ a │",
    "│ r     │ 1 │",
  ]);
  assert.equal(m[3], "str");
});

Deno.test("makeConsole() follows a logger getter", () => {
  const lines: string[] = [];
  let current = new Logger({
    level: "info",
    labels: { requestId: "1" },
    write: (l) => lines.push(...l),
  });
  const c = makeConsole(() => current);
  c.log("a");
  current = current.child({ requestId: "2" });
  c.log("b");
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).labels.requestId),
    ["1", "2"],
  );
});
