/**
 * The serving process started ahead from the last start's record (issue 17,
 * src/supervisor/speculative_start.ts), through `cortex serve`: a second
 * start of the same command adopts it (the supervisor says so); a changed
 * cortex.yaml that changes its command rejects it and serves the new
 * config; another port is another invocation; a record others may write,
 * another user's or a link is not read; a tampered one is caught; no secret
 * is in the record; a supervisor killed while the process started ahead
 * waits leaves no process behind.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  example,
  type LogLine,
  messages,
  type RunningServer,
  spawnServer,
  withServer,
} from "./_server.ts";
import { alive, childPids, servingProcesses } from "./_supervisor.ts";

/** The supervisor's line about the process started ahead, if any. */
function speculative(lines: LogLine[]): LogLine | undefined {
  return lines.find((l) => typeof l.speculativeStart === "string");
}

async function hello(url: string, path = "/hello"): Promise<number> {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"name":"Ann"}',
  });
  await res.body?.cancel();
  return res.status;
}

/** The start records in `cache` (file names). */
async function records(cache: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(cache)) {
      if (/^start-[0-9a-f]{64}\.json$/.test(e.name)) names.push(e.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

/** Waits until the supervisor of `s` wrote its start record. */
async function recordOf(cache: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const found = await records(cache);
    if (found.length === 1) return join(cache, found[0]!);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no start record in ${cache}`);
}

/** A copy of examples/hello and a cache directory of its own. */
async function withProject(
  fn: (t: {
    project: string;
    cache: string;
    env: Record<string, string>;
  }) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "cortex_spec_e2e_" });
  const project = join(root, "hello");
  const cache = join(root, "cache");
  try {
    const cp = new Deno.Command("cp", {
      args: ["-R", example("hello"), project],
    });
    assert.equal((await cp.output()).code, 0);
    await fn({ project, cache, env: { CORTEX_PREPARE_CACHE: cache } });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A first start that serves and leaves its record; returns its path. */
async function firstStart(
  project: string,
  opts: {
    env: Record<string, string>;
    port: number;
    cache: string;
    args?: string[];
  },
): Promise<string> {
  await withServer(project, opts, async (s) => {
    assert.equal(await hello(s.url), 200);
    assert.equal(speculative(s.lines()), undefined, "no record yet");
  });
  return await recordOf(opts.cache);
}

/** The pid of the process that printed "Serving on". */
function servingPid(s: RunningServer): unknown {
  return s.lines().find((l) => String(l.message).startsWith("Serving on "))
    ?.process;
}

const DEBUG = ["--log-level", "debug"];

/** The serving process's line about the first replica it started early. */
function prestartedLine(lines: LogLine[]): LogLine | undefined {
  return lines.find((l) => / \(prestarted\)$/.test(String(l.message)));
}

Deno.test("speculative start: the second start of the same command adopts the serving process started ahead, and its replica", async () => {
  await withProject(async ({ project, cache, env }) => {
    const port = freePort();
    await firstStart(project, { env, port, cache, args: DEBUG });
    await withServer(project, { env, port, args: DEBUG }, async (s) => {
      const line = speculative(s.lines());
      assert.equal(
        line?.speculativeStart,
        "adopted",
        messages(s.lines()).join("\n"),
      );
      assert.equal(line?.pid, servingPid(s), "the adopted process serves");
      // Its replica was started before "go", from the record, and kept.
      assert.equal(prestartedLine(s.lines())?.startedAhead, true);
      assert.equal(await hello(s.url), 200);
    });
  });
});

Deno.test("speculative start: a project inside the runtime's folder (examples/hello in place) is adopted too", async () => {
  // Its import map has a scope under the runtime's folder that applies to
  // none of the runtime's modules: the record's check must let it through
  // (the start-up benchmark serves examples/hello in place).
  const cache = await Deno.makeTempDir({ prefix: "cortex_spec_cache_" });
  try {
    const env = { CORTEX_PREPARE_CACHE: cache };
    const port = freePort();
    const project = example("hello");
    await firstStart(project, { env, port, cache, args: DEBUG });
    await withServer(project, { env, port, args: DEBUG }, async (s) => {
      assert.equal(
        speculative(s.lines())?.speculativeStart,
        "adopted",
        messages(s.lines()).join("\n"),
      );
      assert.equal(await hello(s.url), 200);
    });
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("speculative start: a changed cortex.yaml is served; one that changes the command rejects the record", async () => {
  await withProject(async ({ project, cache, env }) => {
    const port = freePort();
    await firstStart(project, { env, port, cache });
    const yaml = join(project, "cortex.yaml");
    const original = await Deno.readTextFile(yaml);

    // A new endpoint: the same command line (the project is read after
    // "go"), so it is adopted, and serves the new config.
    await Deno.writeTextFile(
      yaml,
      original + "  networking:\n    endpoint: /greet\n",
    );
    await withServer(project, { env, port }, async (s) => {
      assert.equal(speculative(s.lines())?.speculativeStart, "adopted");
      assert.equal(await hello(s.url, "/greet"), 200);
      assert.equal(await hello(s.url, "/hello"), 404);
    });

    // A grant the serving process's command names: rejected, started anew.
    await Deno.writeTextFile(
      yaml,
      original +
        "    allow_net:\n      - example.net:443\n" +
        "  networking:\n    endpoint: /hi\n",
    );
    await withServer(project, { env, port }, async (s) => {
      const line = speculative(s.lines());
      assert.equal(line?.speculativeStart, "rejected");
      assert.equal(line?.reason, "its command line differs");
      assert.notEqual(servingPid(s), undefined);
      assert.equal(await hello(s.url, "/hi"), 200);
    });
    // That start served: its record is the one the next start uses.
    await withServer(project, { env, port }, async (s) => {
      assert.equal(speculative(s.lines())?.speculativeStart, "adopted");
      assert.equal(await hello(s.url, "/hi"), 200);
    });
  });
});

Deno.test("speculative start: another port is another command, started without a record", async () => {
  await withProject(async ({ project, cache, env }) => {
    await firstStart(project, { env, port: freePort(), cache });
    const other = freePort();
    await withServer(project, { env, port: other }, async (s) => {
      assert.equal(speculative(s.lines()), undefined);
      assert.equal(s.port, other);
      assert.equal(await hello(s.url), 200);
    });
    for (let i = 0; i < 200 && (await records(cache)).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await records(cache)).length, 2, "one record per command");
  });
});

Deno.test("speculative start: a record others may write, another user's or a link is not used", async () => {
  await withProject(async ({ project, cache, env }) => {
    const port = freePort();
    const record = await firstStart(project, { env, port, cache });
    const good = await Deno.readTextFile(record);
    const untrusted: [string, () => Promise<void>][] = [
      ["writable by others", () => Deno.chmod(record, 0o666)],
      ["a symlink", async () => {
        await Deno.writeTextFile(`${record}.real`, good, { mode: 0o600 });
        await Deno.remove(record);
        await Deno.symlink(`${record}.real`, record);
      }],
      ...(Deno.uid() === 0
        ? [["another user's", () => Deno.chown(record, 65534, 65534)] as [
          string,
          () => Promise<void>,
        ]]
        : []),
    ];
    for (const [what, spoil] of untrusted) {
      await spoil();
      await withServer(project, { env, port }, async (s) => {
        assert.equal(speculative(s.lines()), undefined, what);
        assert.equal(await hello(s.url), 200, what);
      });
      // That start wrote a good record again (over the link, not through it).
      assert.equal((await Deno.lstat(record)).isSymlink, false, what);
      assert.equal(await Deno.readTextFile(record), good, what);
      await Deno.remove(`${record}.real`).catch(() => {});
    }
  });
});

Deno.test("speculative start: a tampered record is not served", async () => {
  await withProject(async ({ project, cache, env }) => {
    const port = freePort();
    const record = await firstStart(project, {
      env,
      port,
      cache,
      args: DEBUG,
    });
    const good = JSON.parse(await Deno.readTextFile(record));
    const write = (r: unknown) =>
      Deno.writeTextFile(record, JSON.stringify(r), { mode: 0o600 });

    // A grant added (one that runs no code): started, not adopted.
    const main = good.args.findIndex((a: string) =>
      a.endsWith("serve_main.ts")
    );
    await write({
      ...good,
      args: [
        ...good.args.slice(0, main),
        "--allow-env=HOME",
        ...good.args.slice(main),
      ],
    });
    await withServer(project, { env, port, args: DEBUG }, async (s) => {
      assert.equal(speculative(s.lines())?.speculativeStart, "rejected");
      assert.equal(await hello(s.url), 200);
    });

    // Another import map (the runtime's modules resolve as their own):
    // started with it, not adopted.
    const map = JSON.parse(good.files["import_map.json"]);
    map.imports["not-imported"] = "npm:not-imported@1.0.0";
    await write({
      ...good,
      files: { ...good.files, "import_map.json": JSON.stringify(map) },
    });
    await withServer(project, { env, port, args: DEBUG }, async (s) => {
      const line = speculative(s.lines());
      assert.equal(line?.reason, "its import map or lockfile differs");
      assert.equal(await hello(s.url), 200);
    });

    // Other replica commands: the process is kept (its own command is
    // this start's), the replica it started from them is not.
    // (Its text holds the scratch-root placeholder: not JSON until replaced.)
    assert.match(good.prestart, /"args":\["run",/);
    await write({
      ...good,
      prestart: good.prestart.replace(
        '"args":["run",',
        '"args":["run","--allow-all",',
      ),
    });
    await withServer(project, { env, port, args: DEBUG }, async (s) => {
      assert.equal(speculative(s.lines())?.speculativeStart, "adopted");
      const line = prestartedLine(s.lines());
      assert.ok(line, "a prestarted replica");
      assert.equal(line.startedAhead, undefined, "not the one from the record");
      assert.ok(!messages(s.lines()).some((m) => /started again/.test(m)));
      assert.equal(await hello(s.url), 200);
    });

    // Arguments the serving process would refuse: nothing is started.
    await write({ ...good, args: [...good.args, "--no-such-flag"] });
    await withServer(project, { env, port, args: DEBUG }, async (s) => {
      assert.equal(speculative(s.lines()), undefined);
      assert.equal(await hello(s.url), 200);
    });
  });
});

Deno.test("speculative start: no secret in the record; the control token reaches the adopted process", async () => {
  await withProject(async ({ project, cache, env }) => {
    const secret = "dotenv-secret-4711";
    const token = "control-token-0123456789-abcdef";
    await Deno.writeTextFile(join(project, ".env"), `HELLO_SECRET=${secret}\n`);
    const port = freePort();
    const withToken = { ...env, CORTEX_CONTROL_TOKEN: token };
    const record = await firstStart(project, { env: withToken, port, cache });
    const text = await Deno.readTextFile(record);
    assert.ok(!text.includes(secret), "no .env value");
    assert.ok(!text.includes(token), "no control token");
    await withServer(project, { env: withToken, port }, async (s) => {
      assert.equal(speculative(s.lines())?.speculativeStart, "adopted");
      const serving = s.lines().find((l) =>
        String(l.message).startsWith("Serving on ")
      )!;
      const apis = (bearer: string) =>
        fetch(`http://127.0.0.1:${serving.controlPort}/apis`, {
          headers: { authorization: `Bearer ${bearer}` },
        }).then(async (r) => (await r.body?.cancel(), r.status));
      assert.equal(await apis(token), 200);
      assert.equal(await apis("wrong-token-0123456789"), 401);
    });
    assert.ok(!(await Deno.readTextFile(record)).includes(token));
  });
});

Deno.test("speculative start: killing the supervisor while the process started ahead waits leaves no process", async () => {
  await withProject(async ({ project, cache, env }) => {
    const port = freePort();
    const record = await firstStart(project, { env, port, cache });
    assert.ok(JSON.parse(await Deno.readTextFile(record)).prestart);
    // An edited handler: the prepare cache misses and deno cache/info/check
    // run (~1 s), while the process started ahead waits for "go".
    const handler = join(project, "handler.ts");
    await Deno.writeTextFile(
      handler,
      (await Deno.readTextFile(handler)) + "// edited\n",
    );
    const proc = spawnServer(project, { env, port });
    void proc.stdout.cancel();
    void proc.stderr.cancel();
    let ahead: number[] = [];
    for (let i = 0; i < 400 && ahead.length === 0; i++) {
      ahead = await servingProcesses(proc.pid);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(ahead.length, 1, "the process started ahead");
    // ... and the replica it starts from the record before "go".
    let replicas: number[] = [];
    for (let i = 0; i < 400 && replicas.length === 0; i++) {
      replicas = await childPids(ahead[0]!);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(replicas.length, 1, "the replica started ahead");
    proc.kill("SIGKILL");
    await proc.status;
    for (const pid of [...ahead, ...replicas]) {
      let left = true;
      for (let i = 0; i < 100 && left; i++) {
        left = await alive(pid);
        if (left) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(left, false, `pid ${pid} is still alive`);
    }
    // Nothing of it serves.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/hello`));
  });
});

/** Waits up to ~2 s for `path` to exist. */
async function appears(path: string): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    try {
      await Deno.lstat(path);
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

Deno.test("speculative start: a record cannot run other code before go (Deno flags, environment, import map, prestart commands)", async () => {
  await withProject(async ({ project, cache, env }) => {
    const port = freePort();
    const record = await firstStart(project, { env, port, cache });
    const good = JSON.parse(await Deno.readTextFile(record));
    const main = good.args.findIndex((a: string) =>
      a.endsWith("serve_main.ts")
    );
    const marker = join(cache, "..", "pwned");
    const evil = join(cache, "..", "evil.ts");
    await Deno.writeTextFile(
      evil,
      `Deno.writeTextFileSync(${JSON.stringify(marker)}, "ran");\n` +
        // What src/wire/exit_codes.ts exports, for the import map's case.
        "export const EXIT = {}, FINAL_EXIT_CODES = new Set();\n",
    );
    const write = (r: unknown) =>
      Deno.writeTextFile(record, JSON.stringify(r), { mode: 0o600 });
    const runtimeSrc = new URL("../src/", import.meta.url).href;
    const importMap = JSON.parse(good.files["import_map.json"]);
    // The process may write the marker (a grant the check lets through).
    const widened = good.args.map((a: string) =>
      a.startsWith("--allow-write=") ? `${a},${join(cache, "..")}` : a
    );
    const hostile: [string, unknown][] = [
      ["--preload (and a wider --allow-write)", {
        ...good,
        args: [
          ...widened.slice(0, main),
          `--preload=${evil}`,
          ...widened.slice(main),
        ],
      }],
      ["an import map remapping the runtime's own modules", {
        ...good,
        args: widened,
        files: {
          ...good.files,
          "import_map.json": JSON.stringify({
            ...importMap,
            imports: {
              ...importMap.imports,
              [`${runtimeSrc}wire/exit_codes.ts`]: pathToFileURL(evil).href,
            },
          }),
        },
      }],
      ["an environment variable Deno reads as it starts", {
        ...good,
        env: { ...good.env, DENO_DIR: join(cache, "..", "deno-dir") },
      }],
    ];
    const ran: string[] = [];
    for (const [what, r] of hostile) {
      await write(r);
      await withServer(project, { env, port }, async (s) => {
        // Nothing was started from it.
        assert.equal(speculative(s.lines()), undefined, what);
        assert.equal(await hello(s.url), 200, what);
      });
      if (await appears(marker)) ran.push(what);
      await Deno.remove(marker).catch(() => {});
    }
    // A replica command of the record: the process is adopted, but the
    // replica it starts before "go" must not run the added module either.
    assert.match(good.prestart, /"args":\["run",/);
    await write({
      ...good,
      prestart: good.prestart.replace(
        '"args":["run",',
        `"args":["run",${JSON.stringify(`--preload=${evil}`)},`,
      ).replace(
        '"--allow-write=',
        `"--allow-write=${join(cache, "..")},`,
      ),
    });
    // An edited handler: the prepare cache misses, so the replica has
    // time to start before "go" and its command is compared.
    const handler = join(project, "handler.ts");
    await Deno.writeTextFile(
      handler,
      (await Deno.readTextFile(handler)) + "// edited\n",
    );
    await withServer(project, { env, port }, async (s) => {
      assert.equal(speculative(s.lines())?.speculativeStart, "adopted");
      assert.equal(await hello(s.url), 200);
    });
    if (await appears(marker)) ran.push("--preload in a prestart command");
    assert.deepEqual(ran, []);
  });
});
