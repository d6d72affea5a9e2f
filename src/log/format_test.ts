import assert from "node:assert/strict";
import { excInfo, formatRecord, MAX_LINE_BYTES, utf8Length } from "./format.ts";
import type { LogRecord } from "./format.ts";

const OPTS = { now: new Date("2024-05-01T12:00:01.123Z"), pid: 42 };
const LABELS = { apiName: "iris", apiKind: "RealtimeAPI", replicaId: "r1" };

function one(rec: Partial<LogRecord>): Record<string, unknown> {
  const lines = formatRecord(
    { level: "info", message: "hi", labels: LABELS, ...rec },
    OPTS,
  );
  assert.equal(lines.length, 1);
  return JSON.parse(lines[0] ?? "");
}

Deno.test("formatRecord() writes the base fields", () => {
  assert.deepEqual(one({}), {
    asctime: "2024-05-01T12:00:01.123Z",
    levelname: "INFO",
    message: "hi",
    labels: LABELS,
    process: 42,
  });
});

Deno.test("formatRecord() maps every level to its levelname", async (t) => {
  const table = [
    ["debug", "DEBUG"],
    ["info", "INFO"],
    ["warning", "WARNING"],
    ["error", "ERROR"],
  ] as const;
  for (const [level, name] of table) {
    await t.step(level, () => assert.equal(one({ level }).levelname, name));
  }
});

Deno.test("formatRecord() flattens extra one level, nested stays nested", () => {
  const rec = one({ extra: { a: 1, b: { c: { d: [1, 2] } }, s: "x" } });
  assert.equal(rec.a, 1);
  assert.deepEqual(rec.b, { c: { d: [1, 2] } });
  assert.equal(rec.s, "x");
  assert.equal(rec.c, undefined);
});

Deno.test("formatRecord() orders keys asctime, levelname, message, extra, labels, process, exc_info", () => {
  const [line] = formatRecord({
    level: "error",
    message: "m",
    labels: LABELS,
    extra: { zeta: 1, alpha: 2 },
    error: new Error("boom"),
  }, OPTS);
  assert.deepEqual(Object.keys(JSON.parse(line ?? "")), [
    "asctime",
    "levelname",
    "message",
    "zeta",
    "alpha",
    "labels",
    "process",
    "exc_info",
  ]);
});

Deno.test("formatRecord() drops reserved extra keys and warns which", () => {
  const lines = formatRecord({
    level: "info",
    message: "real",
    labels: LABELS,
    extra: { message: "fake", labels: {}, exc_info: "x", ok: true },
  }, OPTS);
  assert.equal(lines.length, 2);
  const main = JSON.parse(lines[0] ?? "");
  assert.equal(main.message, "real");
  assert.deepEqual(main.labels, LABELS);
  assert.equal(main.exc_info, undefined);
  assert.equal(main.ok, true);
  const warn = JSON.parse(lines[1] ?? "");
  assert.equal(warn.levelname, "WARNING");
  assert.deepEqual(warn.droppedKeys, ["message", "labels", "exc_info"]);
  assert.match(warn.message, /"message", "labels", "exc_info" dropped/);
  assert.deepEqual(warn.labels, LABELS);
});

Deno.test("formatRecord() warns for each reserved key", async (t) => {
  for (const key of ["asctime", "levelname", "process"]) {
    await t.step(key, () => {
      const lines = formatRecord({
        level: "debug",
        message: "m",
        labels: {},
        extra: { [key]: "bad" },
      }, OPTS);
      assert.equal(lines.length, 2);
      assert.notEqual(JSON.parse(lines[0] ?? "")[key], "bad");
      const warn = JSON.parse(lines[1] ?? "");
      assert.match(warn.message, new RegExp(`"${key}" dropped`));
      assert.deepEqual(warn.droppedKeys, [key]);
    });
  }
});

Deno.test("formatRecord() replaces a line over 5 MB by a size warning", () => {
  const lines = formatRecord({
    level: "debug",
    message: "big",
    labels: LABELS,
    extra: { blob: "é".repeat(MAX_LINE_BYTES / 2), message: "reserved" },
  }, OPTS);
  assert.equal(lines.length, 1);
  const warn = JSON.parse(lines[0] ?? "");
  assert.equal(warn.levelname, "WARNING");
  assert.equal(warn.droppedLevel, "DEBUG");
  assert.ok(warn.sizeBytes > MAX_LINE_BYTES);
  assert.match(warn.message, /api "iris", level DEBUG/);
  assert.ok((lines[0] ?? "").length < 1000);
});

Deno.test("formatRecord() keeps a line just under 5 MB", () => {
  const base = formatRecord({
    level: "info",
    message: "",
    labels: {},
    extra: { b: "" },
  }, OPTS)[0] ?? "";
  const pad = "x".repeat(MAX_LINE_BYTES - base.length);
  const [line] = formatRecord({
    level: "info",
    message: "",
    labels: {},
    extra: { b: pad },
  }, OPTS);
  assert.equal(utf8Length(line ?? ""), MAX_LINE_BYTES);
  assert.equal(JSON.parse(line ?? "").b, pad);
});

Deno.test("formatRecord() writes the stack under exc_info", () => {
  const err = new TypeError("bad input", { cause: new Error("root") });
  const rec = one({ level: "error", error: err });
  assert.match(String(rec.exc_info), /^TypeError: bad input\n\s+at /);
  assert.match(String(rec.exc_info), /Caused by: Error: root/);
  assert.equal(one({ error: "plain" }).exc_info, "plain");
  assert.equal(one({ error: 7 }).exc_info, "7");
  assert.equal(one({ error: { code: 1 } }).exc_info, '{"code":1}');
});

Deno.test("excInfo() stops on a cause cycle", () => {
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  a.cause = b;
  assert.equal(excInfo(a).split("Caused by:").length, 2);
});

Deno.test("formatRecord() serialises bigint, circular, Error, Map and Set safely", () => {
  const circ: Record<string, unknown> = { name: "c" };
  circ.self = circ;
  const shared = { v: 1 };
  const rec = one({
    extra: {
      big: 10n,
      circ,
      pair: [shared, shared],
      err: new RangeError("r"),
      map: new Map([["k", 1n]]),
      set: new Set([1]),
      when: new Date(0),
      fn: () => 1,
      undef: undefined,
      ["__proto__"]: { polluted: true },
    },
  });
  assert.equal(rec.big, "10");
  assert.deepEqual(rec.circ, { name: "c", self: "[Circular]" });
  assert.deepEqual(rec.pair, [{ v: 1 }, { v: 1 }]);
  const err = rec.err as Record<string, unknown>;
  assert.equal(err.name, "RangeError");
  assert.equal(err.message, "r");
  assert.match(String(err.stack), /RangeError: r/);
  assert.deepEqual(rec.map, { k: "1" });
  assert.deepEqual(rec.set, [1]);
  assert.equal(rec.when, "1970-01-01T00:00:00.000Z");
  assert.equal("fn" in rec, false);
  assert.equal("undef" in rec, false);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("formatRecord() survives a throwing getter", () => {
  const bad = {
    get x(): number {
      throw new Error("nope");
    },
  };
  assert.match(String(one({ extra: { bad } }).bad), /Unserializable: nope/);
});

Deno.test("utf8Length() counts UTF-8 bytes", () => {
  for (const s of ["", "abc", "é", "€", "😀", "a\ud800b", "\udc00"]) {
    assert.equal(utf8Length(s), new TextEncoder().encode(s).length, s);
  }
});

Deno.test("formatRecord() writes the active span as trace_id and span_id; extra cannot forge them", () => {
  const trace = {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
  };
  const line = formatRecord(
    {
      level: "info",
      message: "hi",
      labels: LABELS,
      trace,
      extra: { trace_id: "x" },
    },
    OPTS,
  );
  const rec = JSON.parse(line[0]!);
  assert.equal(rec.trace_id, trace.traceId);
  assert.equal(rec.span_id, trace.spanId);
  assert.match(JSON.parse(line[1]!).message, /"trace_id" dropped/);
  assert.equal(one({}).trace_id, undefined);
});
