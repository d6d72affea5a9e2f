import assert from "node:assert/strict";
import { replicaProcessArgv } from "./replica_process_args.ts";
import { UsageError } from "./argv.ts";

Deno.test("replica process argv: parseArgv(toArgv(x)) is x", () => {
  for (
    const args of [
      { address: "unix:/s/gen-1/replicas/r.sock", nonce: "a1b2" },
      { address: "127.0.0.1:40123", nonce: "ff" },
    ]
  ) {
    assert.deepEqual(
      replicaProcessArgv.parseArgv(replicaProcessArgv.toArgv(args)),
      args,
    );
  }
});

Deno.test("replica process argv: missing and extra arguments are named", () => {
  const cases: [string[], RegExp][] = [
    [["unix:/r.sock"], /expected <address> <nonce>, got 1 arguments/],
    [["unix:/r.sock", "n", "more"], /unexpected argument "more"/],
    [["--inspect", "n"], /unexpected argument "--inspect"/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(
      () => replicaProcessArgv.parseArgv(bad),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      bad.join(" "),
    );
  }
});
