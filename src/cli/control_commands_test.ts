import assert from "node:assert/strict";
import { startControlPlane } from "../control/control_plane.ts";
import { startControlServer } from "../control/control_server.ts";
import {
  BAD_FIXTURE,
  type FakeTarget,
  FIXTURE,
  sampleTarget as newTarget,
  TEST_TOKEN as TOKEN,
} from "../control/_testing.ts";
import { createControlCommands } from "./control_commands.ts";
import type { ControlIo } from "./control_io.ts";

// ---- the CLI commands against a fake server ----

interface Captured {
  io: ControlIo;
  out: string[];
  err: string[];
  stop: AbortController;
}

function captureIo(
  env: Record<string, string>,
  opts: { color?: boolean; stopAfter?: number } = {},
): Captured {
  const out: string[] = [];
  const err: string[] = [];
  const stop = new AbortController();
  return {
    out,
    err,
    stop,
    io: {
      out: (t) => {
        out.push(t);
        if (out.length >= (opts.stopAfter ?? Infinity)) stop.abort();
      },
      err: (t) => err.push(t),
      env: (n) => env[n],
      color: opts.color ?? false,
      isTty: false,
      interrupt: () => ({ signal: stop.signal, dispose: () => {} }),
      watchIntervalMs: 10,
    },
  };
}

async function withCliServer(
  fn: (
    ctx: { target: FakeTarget; env: Record<string, string> },
  ) => Promise<void>,
): Promise<void> {
  const runtime = await Deno.makeTempDir();
  const target = newTarget();
  const env = { XDG_RUNTIME_DIR: runtime };
  const plane = await startControlPlane({
    target,
    port: 0,
    env: (n) => (env as Record<string, string>)[n],
  });
  try {
    await plane.writeState({ httpPort: 18889, projectDir: "/p" });
    await fn({ target, env });
  } finally {
    await plane.shutdown();
    await Deno.remove(runtime, { recursive: true });
  }
}

Deno.test("cortex get prints a kubectl-style table, found through the state file", async () => {
  await withCliServer(async ({ env }) => {
    const c = captureIo(env);
    const code = await createControlCommands(c.io).get!([
      "--server-port",
      "18889",
    ]);
    assert.equal(code, 0, c.err.join("\n"));
    assert.equal(
      c.out.join("\n"),
      [
        "NAME   KIND          STATUS   REPLICAS   IN-FLIGHT   ENDPOINT                     CONTROL",
        "iris   RealtimeAPI   live     2/2        3           http://localhost:8888/iris   read",
        "grpc   RealtimeAPI   error    1/1        0           grpc://localhost:9000        read",
      ].join("\n"),
    );
  });
});

Deno.test("cortex get colours status only when asked, and -o json prints JSON", async () => {
  await withCliServer(async ({ env }) => {
    const colored = captureIo(env, { color: true });
    await createControlCommands(colored.io).list!(["--server-port", "18889"]);
    assert.ok(colored.out[0]!.includes("\x1b[32mlive\x1b[0m     2/2"));
    assert.ok(colored.out[0]!.includes("\x1b[31merror\x1b[0m"));
    const json = captureIo(env);
    await createControlCommands(json.io).get!([
      "iris",
      "-o",
      "json",
      "--server-port",
      "18889",
    ]);
    const iris = JSON.parse(json.out[0]!);
    assert.equal(iris.name, "iris");
    // The policy of ctx.client, every action listed (none granted here).
    assert.deepEqual(iris.spec.handler.control, {
      read_env: [],
      logs: [],
      patch: [],
      refresh: [],
      delete: [],
      deploy: [],
    });
    const detail = captureIo(env);
    await createControlCommands(detail.io).get!([
      "grpc",
      "--server-port",
      "18889",
    ]);
    assert.match(detail.out[0]!, /error: {14}Handler constructor failed: boom/);
    assert.match(detail.out[0]!, /replica cap: {8}4 \(local\)/);
  });
});

Deno.test("cortex get -w refreshes until interrupted", async () => {
  await withCliServer(async ({ env }) => {
    const c = captureIo(env, { stopAfter: 2 });
    assert.equal(
      await createControlCommands(c.io).get!(["-w", "--server-port", "18889"]),
      0,
    );
    assert.equal(c.out.length, 2);
    assert.match(c.out[1]!, /^NAME/);
  });
});

Deno.test("cortex deploy, patch, refresh and delete print what they did", async () => {
  await withCliServer(async ({ env, target }) => {
    const c = captureIo(env);
    const cmds = createControlCommands(c.io);
    const port = ["--server-port", "18889"];
    assert.equal(await cmds.deploy!([FIXTURE, ...port]), 0, c.err.join("\n"));
    assert.deepEqual(c.out.slice(0, 2), [
      "updating iris (RealtimeAPI)",
      "creating echo (RealtimeAPI)",
    ]);
    assert.equal(
      await cmds.patch!([
        "iris",
        "--set",
        "autoscaling.max_replicas=3",
        ...port,
      ]),
      0,
      c.err.join("\n"),
    );
    assert.equal(target.get("iris")?.config.autoscaling.maxReplicas, 3);
    assert.equal(await cmds.refresh!(["iris", ...port]), 0);
    assert.equal(await cmds.delete!(["echo", ...port]), 0);
    assert.deepEqual(c.out.slice(-2), ["refreshing iris", "deleting echo"]);
    assert.deepEqual(target.calls.map((x) => x.op), [
      "deploy",
      "patch",
      "refresh",
      "delete",
    ]);
  });
});

Deno.test("cortex commands report errors with exit codes", async () => {
  await withCliServer(async ({ env }) => {
    const c = captureIo(env);
    const cmds = createControlCommands(c.io);
    assert.equal(await cmds.get!(["nope", "--server-port", "18889"]), 1);
    assert.equal(c.err.pop(), 'Error: No API named "nope" is deployed');
    assert.equal(
      await cmds.deploy!([BAD_FIXTURE, "--server-port", "18889"]),
      1,
    );
    assert.match(
      c.err.pop()!,
      /cortex\.yaml:5: autoscaling\.max_replicas is 0: must be at least 1$/,
    );
    assert.equal(await cmds.get!(["--server-port", "1"]), 1);
    assert.match(
      c.err.pop()!,
      /^Error: No running server found on port 1: no state file/,
    );
    assert.equal(await cmds.refresh!(["--server-port", "18889"]), 2);
    assert.equal(
      c.err.pop(),
      "Error: Missing API name: usage: cortex refresh <name>",
    );
    assert.equal(await cmds.get!(["--bogus"]), 2);
    assert.equal(await cmds.get!(["-o", "yaml", "--server-port", "18889"]), 2);
    assert.equal(await cmds.list!(["--control-url", "http://127.0.0.1:1"]), 2);
    assert.match(c.err.pop()!, /needs the token: set CORTEX_CONTROL_TOKEN/);
  });
});

Deno.test("cortex <control command> --help prints its usage", async () => {
  for (
    const name of [
      "deploy",
      "get",
      "list",
      "refresh",
      "patch",
      "delete",
      "logs",
    ]
  ) {
    const c = captureIo({});
    assert.equal(await createControlCommands(c.io)[name]!(["--help"]), 0);
    assert.match(c.out[0]!, new RegExp(`^Usage: cortex ${name}`));
    assert.match(c.out[0]!, /--server-port N/);
  }
});

Deno.test("cortex logs follows an API's lines readably, via --control-url and the token env", async () => {
  const target = newTarget();
  const server = await startControlServer({ target, token: TOKEN, port: 0 });
  try {
    target.logs.publish(
      '{"asctime":"2024-01-01T12:00:01.123Z","levelname":"INFO","message":"ready","labels":{"apiName":"iris","replicaId":"iris-1"}}\n' +
        '{"asctime":"2024-01-01T12:00:02.000Z","levelname":"INFO","message":"x","labels":{"apiName":"grpc"}}\n',
    );
    const c = captureIo({
      CORTEX_CONTROL_URL: server.url,
      CORTEX_CONTROL_TOKEN: TOKEN,
    }, { stopAfter: 1 });
    assert.equal(
      await createControlCommands(c.io).logs!(["iris"]),
      0,
      c.err.join("\n"),
    );
    assert.deepEqual(c.out, ["12:00:01.123 INFO  [iris iris-1] ready"]);
  } finally {
    await server.shutdown();
  }
});
