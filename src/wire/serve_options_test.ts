import assert from "node:assert/strict";
import {
  connectionLimits,
  parseServeArgs,
  UsageError,
} from "./serve_options.ts";

const values = (args: string[]) => parseServeArgs(args).values;

Deno.test("connection limits: defaults follow the descriptor limit", () => {
  assert.deepEqual(connectionLimits(values([]), 1024), {
    maxConnections: 768,
    headerTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
  });
  assert.equal(connectionLimits(values([]), null).maxConnections, 3072);
});

Deno.test("connection limits: flags override the defaults", () => {
  assert.deepEqual(
    connectionLimits(
      values([
        "--max-connections",
        "50",
        "--header-timeout",
        "500ms",
        "--idle-timeout",
        "2m",
      ]),
      1024,
    ),
    { maxConnections: 50, headerTimeoutMs: 500, idleTimeoutMs: 120_000 },
  );
});

Deno.test("connection limits: bad values are usage errors naming the flag", () => {
  for (
    const [args, flag] of [
      [["--max-connections", "0"], "--max-connections"],
      [["--max-connections", "many"], "--max-connections"],
      [["--header-timeout", "0s"], "--header-timeout"],
      [["--idle-timeout", "soon"], "--idle-timeout"],
    ] as const
  ) {
    assert.throws(
      () => connectionLimits(values([...args])),
      (e: Error) => e instanceof UsageError && e.message.includes(flag),
    );
  }
});
