import assert from "node:assert/strict";
import { isReplicaLaunch } from "./replica_prestart.ts";
import { REPLICA_MAIN, replicaCommand } from "./replica_command.ts";

const modules = { importMap: "/s/import_map.json", lock: "/s/deno.lock" };

/** A launch of the command the pool computes, with `edit` applied. */
function launch(edit: (args: string[]) => string[] = (a) => a) {
  const c = replicaCommand({
    permissions: {
      read: ["/p/handler.ts"],
      write: ["/s/gen-1/replicas/api-1"],
      net: ["0.0.0.0:8000"],
      env: false,
      run: false,
      ffi: false,
      sys: false,
    },
    socket: "unix:/s/gen-1/replicas/r.sock",
    memoryBytes: 2 ** 30,
    cwd: "/p",
    modules,
  });
  return {
    api: "api",
    replicaId: "api-1",
    command: c.command,
    cwd: "/p",
    args: edit(c.args),
  };
}

/** `args` with `flag` before the replica entry. */
const adding = (flag: string) => (args: string[]) => [
  ...args.slice(0, -1),
  flag,
  REPLICA_MAIN,
];

Deno.test("isReplicaLaunch(): the pool's own command is a replica launch", () => {
  assert.equal(isReplicaLaunch(launch(), modules), true);
});

Deno.test("isReplicaLaunch(): a command that could load other code before init is not", () => {
  for (
    const flag of [
      "--preload=/tmp/evil.ts",
      "--import=/tmp/evil.ts",
      "--inspect-brk=127.0.0.1:9229",
      "--config=/tmp/deno.json",
      "--import-map=/tmp/other.json",
      "--lock=/tmp/other.lock",
      "--allow-all",
      "--allow-run",
      "--allow-env",
      "--v8-flags=--expose-gc,--max-old-space-size=10",
      "--env-file=/tmp/.env",
    ]
  ) {
    assert.equal(isReplicaLaunch(launch(adding(flag)), modules), false, flag);
  }
  // Arguments of the replica entry come from the serving process only.
  assert.equal(
    isReplicaLaunch(launch((a) => [...a, "--address=unix:/tmp/x"]), modules),
    false,
  );
  assert.equal(
    isReplicaLaunch({ ...launch(), command: "/bin/sh" }, modules),
    false,
  );
});
