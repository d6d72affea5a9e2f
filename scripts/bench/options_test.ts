import assert from "node:assert/strict";
import { parseBenchArgs } from "./options.ts";

Deno.test("parseBenchArgs() defaults to every scenario, 5 s runs, 1 s warm-up", () => {
  assert.deepEqual(parseBenchArgs([]), {
    only: [
      "http",
      "grpc",
      "startup",
      "memory",
      "cpu",
      "keepalive",
      "batching",
      "inference",
      "latency",
    ],
    durationS: 5,
    warmupS: 1,
    quietWaitS: 30,
    outDir: "bench-results",
    help: false,
  });
});

Deno.test("parseBenchArgs() reads --only and --duration", () => {
  const opts = parseBenchArgs([
    "--only",
    "grpc, http",
    "--duration",
    "2",
    "--warmup",
    "0",
  ]);
  assert.deepEqual(opts.only, ["grpc", "http"]);
  assert.equal(opts.durationS, 2);
  assert.equal(opts.warmupS, 0);
});

Deno.test("parseBenchArgs() rejects unknown scenarios, bad numbers and flags", () => {
  assert.throws(() => parseBenchArgs(["--only", "http,disk"]), /"disk"/);
  assert.throws(() => parseBenchArgs(["--duration", "0"]), /--duration/);
  assert.throws(() => parseBenchArgs(["--duration", "1.5"]), /--duration/);
  assert.throws(() => parseBenchArgs(["--fast"]));
});

Deno.test("parseBenchArgs() takes the keep-alive scale-up scenario alone", () => {
  const opts = parseBenchArgs(["--only", "keepalive", "--duration", "3"]);
  assert.deepEqual(opts.only, ["keepalive"]);
  assert.equal(opts.durationS, 3);
});
