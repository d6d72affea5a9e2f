/**
 * End-to-end: `cortex call` and `CortexClient.call()` against a real server
 * whose API requires a key (tests/fixtures/edge_single, networking.auth).
 */

import assert from "node:assert/strict";
import { CortexClient } from "../mod.ts";
import { createControlCommands } from "../src/cli/control_commands.ts";
import type { ControlIo } from "../src/cli/control_io.ts";
import { fixture, type RunningServer, withServer } from "./_server.ts";

const TOKEN = "test-token-0123456789abcdef";
const KEY = "call-key-alpha-1";

function controlUrl(s: RunningServer): string {
  const line = s.lines().find((l) => typeof l.controlPort === "number");
  assert.ok(line, "the ready line names the control port");
  return `http://127.0.0.1:${line.controlPort}`;
}

function io(env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const terminal: ControlIo = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: (n) => env[n],
    color: false,
    isTty: false,
    interrupt: () => ({
      signal: new AbortController().signal,
      dispose: () => {},
    }),
    watchIntervalMs: 10,
  };
  return { out, err, call: createControlCommands(terminal).call! };
}

Deno.test("cortex call and CortexClient.call: the key from --api-key, CORTEX_API_KEY or the client option; 401 without", async (t) => {
  await withServer(fixture("edge_single"), {
    env: { EDGE_KEYS: KEY, CORTEX_CONTROL_TOKEN: TOKEN },
  }, async (s) => {
    const env = {
      CORTEX_CONTROL_URL: controlUrl(s),
      CORTEX_CONTROL_TOKEN: TOKEN,
    };

    await t.step("cortex call without a key: exit 1, 401 named", async () => {
      const c = io(env);
      assert.equal(await c.call(["echo", "-d", '{"a":1}']), 1);
      assert.match(c.err.join("\n"), /answered 401: the API needs a key/);
    });

    await t.step("cortex call --api-key: the API's answer", async () => {
      const c = io(env);
      assert.equal(
        await c.call(["echo", "-d", '{"a":1}', "--api-key", KEY]),
        0,
        c.err.join("\n"),
      );
      assert.deepEqual(JSON.parse(c.out.join("\n")), {
        payload: { a: 1 },
        sawKey: true,
      });
    });

    await t.step("cortex call with CORTEX_API_KEY, -i and GET", async () => {
      const c = io({ ...env, CORTEX_API_KEY: KEY });
      assert.equal(await c.call(["echo", "-i"]), 0, c.err.join("\n"));
      assert.equal(c.out[0], "HTTP 200 OK");
      assert.ok(c.out.includes('{"ok":true}'));
    });

    await t.step("a wrong key is refused; usage errors exit 2", async () => {
      const c = io(env);
      assert.equal(await c.call(["echo", "--api-key", "wrong"]), 1);
      assert.equal(await c.call(["echo", "-H", "bad header"]), 2);
      assert.equal(await c.call([]), 2);
      assert.equal(await c.call(["nope"]), 1);
      assert.match(c.err.join("\n"), /nope/);
    });

    await t.step(
      "CortexClient.call: apiKey option, per-call key, no key",
      async () => {
        const client = new CortexClient({
          url: env.CORTEX_CONTROL_URL,
          token: TOKEN,
        }, {
          apiKey: KEY,
        });
        const res = await client.call("echo", { json: { b: 2 } });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { payload: { b: 2 }, sawKey: true });
        const wrong = await client.call("echo", { json: {}, apiKey: "wrong" });
        assert.equal(wrong.status, 401);
        await wrong.body?.cancel();
        const none = new CortexClient({
          url: env.CORTEX_CONTROL_URL,
          token: TOKEN,
        });
        const refused = await none.call("echo");
        assert.equal(refused.status, 401);
        assert.match(refused.headers.get("www-authenticate") ?? "", /^Bearer/);
        await refused.body?.cancel();
      },
    );
  });
});
