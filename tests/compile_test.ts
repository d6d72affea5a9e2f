/**
 * End-to-end tests of `cortex compile`. The generated entry is run with
 * `deno run` and the binary's own flags (read extended to what the binary
 * embeds), and checked like `cortex serve`. Where a base binary (denort) is
 * available, the real executable is built and checked the same way.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadProject } from "../src/config/load_project.ts";
import { writeBuild } from "../src/compile/build.ts";
import { compileProject } from "../src/compile/compile.ts";
import { cachedDenortPath } from "../src/compile/deno_compile.ts";
import { type CompilePlan, planCompile } from "../src/compile/plan.ts";
import { fixture } from "./_server.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const FIXTURE = fixture("compile");
const UNSTABLE = [
  "--unstable-worker-options",
  "--unstable-net",
  "--unstable-no-legacy-abort",
];

/** A running server process and its parsed stdout lines. */
interface Running {
  url: string;
  port: number;
  proc: Deno.ChildProcess;
  lines: Record<string, unknown>[];
  stderr: () => string;
}

/** Starts `cmd args --port 0 --grpc-port 0` in `/` and waits for "Serving on". */
async function start(cmd: string, args: string[]): Promise<Running> {
  const proc = new Deno.Command(cmd, {
    args: [...args, "--port", "0", "--grpc-port", "0"],
    cwd: "/",
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  void (async () => {
    for await (
      const chunk of proc.stderr.pipeThrough(new TextDecoderStream())
    ) stderr += chunk;
  })();
  const ready = Promise.withResolvers<number>();
  void (async () => {
    let rest = "";
    for await (
      const chunk of proc.stdout.pipeThrough(new TextDecoderStream())
    ) {
      rest += chunk;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = JSON.parse(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
        lines.push(line);
        if (String(line.message).startsWith("Serving on ")) {
          ready.resolve(
            line.port,
          );
        }
      }
    }
    ready.reject(new Error(`Server exited before serving: ${stderr}`));
  })();
  const timer = setTimeout(
    () => ready.reject(new Error("Timed out waiting for the server")),
    60_000,
  );
  try {
    const port = await ready.promise;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      proc,
      lines,
      stderr: () => stderr,
    };
  } catch (error) {
    proc.kill("SIGKILL");
    await proc.status;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function getJson(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

/** The checks shared by the `deno run` entry and the real binary. */
async function checkServes(
  server: Running,
  healthcheck: (port: number) => Promise<number>,
): Promise<void> {
  const hello = await getJson(`${server.url}/hello`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "Ada" }),
  });
  assert.deepEqual(hello, {
    status: 200,
    body: {
      message: "HELLO, ADA!",
      labels: ["setosa", "versicolor", "virginica"],
    },
  });
  const labels = { labels: ["setosa", "versicolor", "virginica"] };
  assert.deepEqual(
    (await getJson(`${server.url}/hello?case=meta`)).body,
    labels,
  );
  assert.deepEqual(
    (await getJson(`${server.url}/hello?case=projectdir`)).body,
    labels,
  );
  assert.deepEqual((await getJson(`${server.url}/hello?case=env`)).body, {
    greeting: "hi from .env",
    home: null,
  });
  assert.deepEqual((await getJson(`${server.url}/hello?case=scratch`)).body, {
    read: "kept",
  });
  assert.deepEqual((await getJson(`${server.url}/hello?case=sandbox`)).body, {
    ignored: "NotCapable",
    config: "NotCapable",
    outside: "NotCapable",
    writeProject: "NotCapable",
    writeTmp: "NotCapable",
    net: "NotCapable",
  });
  assert.deepEqual(await getJson(`${server.url}/hello?case=teapot`), {
    status: 418,
    body: { error: "I am a teapot" },
  });
  const healthz = await fetch(`${server.url}/healthz`);
  await healthz.body?.cancel();
  assert.equal(healthz.status, 200);
  assert.equal(await healthcheck(server.port), 0);
}

async function stop(server: Running): Promise<Deno.CommandStatus> {
  server.proc.kill("SIGTERM");
  const hard = setTimeout(() => server.proc.kill("SIGKILL"), 15_000);
  const status = await server.proc.status;
  clearTimeout(hard);
  return status;
}

async function exitOf(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
) {
  const out = await new Deno.Command(cmd, {
    args,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function withBuild(
  fn: (plan: CompilePlan, tmp: string) => Promise<void>,
  project: string = FIXTURE,
): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "cortex-compile-test-" });
  try {
    const plan = await planCompile(await loadProject(project), {
      output: join(tmp, "api"),
      buildDir: join(tmp, "api.build"),
      scratchRoot: join(tmp, "scratch"),
    });
    await writeBuild(plan);
    await fn(plan, tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("compiled entry under deno run with the binary's flags serves like cortex serve", async () => {
  await withBuild(async (plan, tmp) => {
    const deno = Deno.execPath();
    const server = await start(deno, plan.runArgs);
    let status: Deno.CommandStatus;
    try {
      await checkServes(
        server,
        async (port) =>
          (await exitOf(deno, [
            ...plan.runArgs,
            "--healthcheck",
            "--port",
            String(port),
          ])).code,
      );
    } finally {
      status = await stop(server);
    }
    assert.equal(status.code, 0, server.stderr());
    assert.ok(server.lines.some((l) => l.message === "Stopped"));
    // The run's scratch directory is removed; the root stays, empty.
    assert.deepEqual([...Deno.readDirSync(join(tmp, "scratch"))], []);
  });
});

Deno.test("compiled entry: a byte-imported model (a .cortexignore'd file) is embedded and served", async () => {
  await withBuild(async (plan) => {
    const model = await Deno.readFile(`${fixture("onnx_bytes")}model.onnx`);
    const server = await start(Deno.execPath(), [...plan.runArgs]);
    try {
      const res = await getJson(`${server.url}/size`);
      assert.deepEqual(res, {
        status: 200,
        body: { bytes: model.byteLength, head: [...model.subarray(0, 4)] },
      }, server.stderr());
    } finally {
      await stop(server);
    }
  }, fixture("onnx_bytes"));
});

Deno.test("compiled entry --print-permissions prints exactly the flags the binary carries", async () => {
  await withBuild(async (plan) => {
    const out = await exitOf(Deno.execPath(), [
      ...plan.runArgs,
      "--print-permissions",
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.stdout.trim().split("\n"), plan.flags);
    assert.ok(plan.flags.includes("--allow-net=0.0.0.0,127.0.0.1"));
  });
});

Deno.test("compiled entry --healthcheck exits 1 when nothing answers", async () => {
  await withBuild(async (plan) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const out = await exitOf(Deno.execPath(), [
      ...plan.runArgs,
      "--healthcheck",
      "--port",
      String(port),
    ]);
    assert.equal(out.code, 1);
    assert.match(
      out.stderr,
      /^Unhealthy: GET http:\/\/127\.0\.0\.1:\d+\/healthz failed/,
    );
  });
});

Deno.test("compiled entry refuses a host its permissions do not cover, and bad options", async () => {
  await withBuild(async (plan) => {
    const host = await exitOf(Deno.execPath(), [
      ...plan.runArgs,
      "--host",
      "10.255.255.1",
    ]);
    assert.equal(host.code, 2);
    assert.match(
      host.stderr,
      /Cannot listen on "10\.255\.255\.1": .*cortex compile --host 10\.255\.255\.1/,
    );
    const bad = await exitOf(Deno.execPath(), [...plan.runArgs, "--bogus"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Error: .*--bogus/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });
});

Deno.test("cortex compile without a base binary fails with a short message naming DENORT_BIN", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "cortex-compile-cli-" });
  try {
    const out = await exitOf(
      Deno.execPath(),
      [
        "run",
        "-A",
        ...UNSTABLE,
        CLI,
        "compile",
        FIXTURE,
        "-o",
        join(tmp, "api"),
      ],
      { DENORT_BIN: join(tmp, "no-such-denort") },
    );
    assert.equal(out.code, 1);
    assert.match(
      out.stderr,
      /^Cannot compile: deno compile needs its base binary "denort-.+\.zip"/,
    );
    assert.match(out.stderr, /DENORT_BIN=\/path\/to\/denort/);
    assert.doesNotMatch(out.stderr, /backtrace|\n\s+at /);
    assert.ok(out.stderr.trim().split("\n").length <= 3, out.stderr);
    // The temporary build directory is gone and nothing was written.
    assert.deepEqual([...Deno.readDirSync(tmp)], []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** Whether `deno compile` can get a base binary here without the network. */
function denortAvailable(): boolean {
  const env = Deno.env.get("DENORT_BIN");
  if (env) return true;
  const home = Deno.env.get("HOME") ?? "";
  const denoDir = Deno.env.get("DENO_DIR") ?? join(home, ".cache", "deno");
  try {
    return Deno.statSync(cachedDenortPath(denoDir)).isFile;
  } catch {
    return false;
  }
}

const HAVE_DENORT = denortAvailable();

Deno.test({
  name: HAVE_DENORT
    ? "compiled binary serves like cortex serve and keeps the sandbox"
    : "compiled binary serves like cortex serve (ignored: no DENORT_BIN and no cached denort)",
  ignore: !HAVE_DENORT,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "cortex-binary-test-" });
    try {
      const output = join(tmp, "api");
      const plan = await compileProject(await loadProject(FIXTURE), {
        output,
        scratchRoot: join(tmp, "scratch"),
      });
      const printed = await exitOf(output, ["--print-permissions"]);
      assert.deepEqual(printed.stdout.trim().split("\n"), plan.flags);
      const server = await start(output, []);
      let status: Deno.CommandStatus;
      try {
        await checkServes(
          server,
          async (port) =>
            (await exitOf(output, ["--healthcheck", "--port", String(port)]))
              .code,
        );
      } finally {
        status = await stop(server);
      }
      assert.equal(status.code, 0, server.stderr());
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
