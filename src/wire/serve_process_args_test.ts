import assert from "node:assert/strict";
import {
  type ServeProcessArgs,
  serveProcessArgv,
} from "./serve_process_args.ts";
import { UsageError } from "./serve_options.ts";

const FULL: ServeProcessArgs = {
  projectDir: "/p/my project",
  flags: {
    port: "0",
    host: "::1",
    "log-level": "debug",
    "no-access-log": true,
    "max-connections": "-5",
    api: "iris",
  },
  projectJson: "/s/project.json",
  fdLimit: 1024,
  scratchRoot: "/s/gen-1/replicas",
  replicaSocket: "/s/gen-1/replicas/r.sock",
  modules: {
    importMap: "/s/import_map.json",
    lock: "/s/deno.lock",
    packagesFile: "/s/packages.json",
  },
  modelsFile: "/s/models.json",
  controlReport: "/s/gen-1/control.json",
  replaceRequest: "/s/gen-1/replace-request",
  prestartFile: "/s/gen-1/prestart.json",
  grpc: {
    descriptors: "/s/descriptors.json",
    socket: "/s/grpc.sock",
    socketBind: "/s/gen-1/grpc.sock",
  },
};

const MINIMAL: ServeProcessArgs = {
  projectDir: "/p",
  flags: {},
  scratchRoot: "/s/r",
  replicaSocket: "/s/r/r.sock",
  modules: { importMap: "/s/i.json", lock: "/s/l.lock" },
  modelsFile: "/s/m.json",
  controlReport: "/s/c.json",
  replaceRequest: "/s/rr",
};

Deno.test("serving process argv: parseArgv(toArgv(x)) is x", () => {
  for (const args of [FULL, MINIMAL]) {
    assert.deepEqual(
      serveProcessArgv.parseArgv(serveProcessArgv.toArgv(args)),
      args,
    );
  }
});

Deno.test("serving process argv: a value starting with a dash stays a value", () => {
  const argv = serveProcessArgv.toArgv(FULL);
  assert.ok(argv.includes("--max-connections=-5"));
});

Deno.test("serving process argv: unknown, missing and bad flags are named", () => {
  const argv = serveProcessArgv.toArgv(MINIMAL);
  const cases: [string[], RegExp][] = [
    [[...argv, "--colour"], /serving process: .*--colour/],
    [
      argv.filter((a) => !a.startsWith("--lock-file")),
      /option --lock-file is missing/,
    ],
    [
      [...argv, "--fd-limit=many"],
      /option --fd-limit is "many": expected an integer/,
    ],
    [[...argv, "--grpc-socket=/s/g"], /option --descriptors is missing/],
    [argv.slice(1), /expected one project directory, got 0/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(
      () => serveProcessArgv.parseArgv(bad),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      bad.join(" "),
    );
  }
});
