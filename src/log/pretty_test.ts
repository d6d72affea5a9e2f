import assert from "node:assert/strict";
import { prettyLine } from "./pretty.ts";
import { formatRecord } from "./format.ts";

const OPTS = { now: new Date("2024-05-01T12:00:01.123Z"), pid: 1 };

function json(extra?: Record<string, unknown>, error?: unknown): string {
  return formatRecord({
    level: "info",
    message: "predicted",
    labels: {
      apiName: "iris",
      apiKind: "RealtimeAPI",
      replicaId: "r1",
      requestId: "abc",
    },
    ...(extra ? { extra } : {}),
    ...(error ? { error } : {}),
  }, OPTS)[0] ?? "";
}

Deno.test("prettyLine() renders time, level, labels, message and extra", () => {
  assert.equal(
    prettyLine(json({ cls: "setosa", score: 0.9, note: "two words" }), {
      color: false,
    }),
    '12:00:01.123 INFO  [iris r1 req=abc] predicted cls=setosa score=0.9 note="two words"',
  );
});

Deno.test("prettyLine() shows nested extra as JSON and other labels", () => {
  const line = JSON.stringify({
    asctime: "2024-05-01T12:00:01.123Z",
    levelname: "DEBUG",
    message: "m",
    obj: { a: [1] },
    labels: { apiName: "a", zone: "z1" },
    process: 1,
  });
  assert.equal(
    prettyLine(line, { color: false }),
    '12:00:01.123 DEBUG [a zone=z1] m obj={"a":[1]}',
  );
});

Deno.test("prettyLine() appends exc_info on the next lines", () => {
  const out = prettyLine(json(undefined, new Error("boom")), { color: false });
  const [first, second] = out.split("\n");
  assert.equal(first, "12:00:01.123 INFO  [iris r1 req=abc] predicted");
  assert.equal(second, "Error: boom");
});

Deno.test("prettyLine() colours the level when asked", async (t) => {
  const table = [
    ["DEBUG", "\x1b[90m"],
    ["INFO", "\x1b[32m"],
    ["WARNING", "\x1b[33m"],
    ["ERROR", "\x1b[31m"],
  ];
  for (const [level, code] of table) {
    await t.step(level ?? "", () => {
      const line = JSON.stringify({ levelname: level, message: "m" });
      const out = prettyLine(line, { color: true });
      assert.ok(out.includes(`${code}${level?.padEnd(5)}\x1b[0m`), out);
    });
  }
});

Deno.test("prettyLine() passes through lines that are not log JSON", () => {
  for (const s of ["plain text", "{not json", "[1,2]", '{"a":1}', ""]) {
    assert.equal(prettyLine(s, { color: true }), s);
  }
});
