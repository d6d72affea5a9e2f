/**
 * Modules are fixed at start (issue 11, item 4): a handler's run-time import
 * of a module outside the graph cached before serving fails with an error
 * naming it and makes no network request; declared dependencies (an `npm:`
 * specifier, a bare name in the project's deno.json) work; the runtime's
 * deno.lock is never written; a graph that does not resolve stops `serve`
 * with an error naming the file and the specifier.
 *
 * Network requests are detected with a loopback listener set as the HTTP(S)
 * proxy of the server's processes: Deno sends its npm registry requests
 * through it (`CONNECT registry.npmjs.org:443`). The registry itself cannot
 * be pointed elsewhere: Deno keys its npm cache by registry host, so
 * NPM_CONFIG_REGISTRY would also hide the packages that are cached.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { fixture, type LogLine, runToExit, withServer } from "../_server.ts";

const PROJECT = fixture("sec_modules");
const RUNTIME_LOCK = fileURLToPath(new URL("../../deno.lock", import.meta.url));

/** A loopback "proxy" that records every connection and closes it. */
function proxyListener() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: string[] = [];
  const done = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(1024);
      const n = await conn.read(buf).catch(() => null);
      seen.push(
        new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0]!,
      );
      conn.close();
    }
  })();
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  return {
    seen,
    env: {
      HTTPS_PROXY: url,
      HTTP_PROXY: url,
      https_proxy: url,
      http_proxy: url,
      NO_PROXY: "127.0.0.1,localhost,[::1]",
      no_proxy: "127.0.0.1,localhost,[::1]",
      DENO_NO_UPDATE_CHECK: "1",
    },
    async close() {
      listener.close();
      await done.catch(() => {});
    },
  };
}

interface ImportResult {
  ok: boolean;
  name?: string;
  message?: string;
}

Deno.test("modules: a run-time import outside the cached graph fails, names it and makes no network request", async (t) => {
  const lockBefore = await Deno.readFile(RUNTIME_LOCK);
  const proxy = proxyListener();
  const unknown = () => `cortex-sec-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await withServer(
      PROJECT,
      { env: proxy.env },
      async ({ url, waitForLine }) => {
        const tryImport = async (spec: string): Promise<ImportResult> => {
          const res = await fetch(
            `${url}/hostile?catch=1&spec=${encodeURIComponent(spec)}`,
          );
          assert.equal(res.status, 200);
          return await res.json();
        };

        await t.step("declared dependencies work", async () => {
          const res = await fetch(`${url}/legit`);
          assert.equal(res.status, 200);
          assert.deepEqual(await res.json(), {
            yaml: "a: 1\n",
            parsed: { b: 2 },
            shout: "OK",
          });
        });

        await t.step(
          'import("npm:" + name) fails naming the package',
          async () => {
            const name = unknown();
            const r = await tryImport(`npm:${name}`);
            assert.equal(r.ok, false, JSON.stringify(r));
            assert.ok(r.message?.includes(`"${name}"`), JSON.stringify(r));
            assert.match(r.message ?? "", /not found in cache/);
          },
        );

        await t.step(
          "uncaught, it is a 500 whose log line says how to declare it",
          async () => {
            const name = unknown();
            const res = await fetch(
              `${url}/hostile?spec=${encodeURIComponent(`npm:${name}`)}`,
            );
            assert.equal(res.status, 500);
            await res.body?.cancel();
            const line: LogLine = await waitForLine((l) =>
              String(l.message).includes(`"npm:${name}"`)
            );
            assert.match(
              String(line.message),
              /^Handler of API "hostile" threw: Cannot import "npm:cortex-sec-[0-9a-f]{8}" at run time: modules are fixed when the server starts; import npm packages with "npm:" specifiers .* or map a bare name in the project's deno\.json "imports"/,
            );
          },
        );

        await t.step(
          "the runtime's own bare names are not the handler's",
          async () => {
            const r = await tryImport("@grpc/grpc-js");
            assert.equal(r.ok, false, JSON.stringify(r));
            assert.match(
              r.message ?? "",
              /"@grpc\/grpc-js" not a dependency and not in import map/,
            );
          },
        );

        await t.step(
          "a package in the cache but in no lockfile is refused, and only that replica is affected",
          async () => {
            // Each replica is a process run with --frozen: what no lockfile
            // holds is refused even when Deno has it cached. (Deno 2.9.6 then
            // fails later module loads of that process, and only of it.)
            const r = await tryImport("npm:ignore@7");
            assert.equal(r.ok, false, JSON.stringify(r));
            assert.match(r.message ?? "", /lockfile is out of date/);
            const legit = await fetch(`${url}/legit`);
            assert.equal(legit.status, 200);
            await legit.body?.cancel();
          },
        );

        await t.step("no request left the machine", () => {
          assert.deepEqual(proxy.seen, []);
        });
      },
    );
  } finally {
    await proxy.close();
  }
  assert.deepEqual(
    await Deno.readFile(RUNTIME_LOCK),
    lockBefore,
    "the runtime's deno.lock changed",
  );
  assert.deepEqual(proxy.seen, [], "a request went to the network");
});

Deno.test("modules: a handler graph that does not resolve stops serve, naming the file and the specifier", async () => {
  const { code, lines } = await runToExit(fixture("sec_modules_bad"), {
    env: { DENO_NO_UPDATE_CHECK: "1" },
    timeoutMs: 60_000,
  });
  assert.equal(code, 2);
  const error = lines.find((l) =>
    String(l.message).startsWith("Cannot load the modules")
  );
  assert.ok(error, JSON.stringify(lines.map((l) => l.message)));
  const message = String(error.message);
  assert.match(message, /API "undeclared" \(handler\.ts\)/);
  assert.match(message, /Import "undeclared-pkg" not a dependency/);
  assert.match(message, /sec_modules_bad\/handler\.ts:1:\d+/);
  assert.match(message, /deno\.json "imports"/);
});
