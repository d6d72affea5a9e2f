/**
 * Issue 11, item 3: `ctx.client` without the token. A hostile handler
 * (tests/fixtures/security_control/hostile.ts) runs next to a well-behaved
 * API holding secrets in `handler.env` and attacks it through everything
 * handler code can reach: the client itself, a wrapped `fetch` and
 * `postMessage`, its environment, and the control API directly. The same
 * code runs as "manager" with grants in `handler.control`, to check what an
 * opt-in allows and what it never does.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  fixture,
  type RunningServer,
  runToExit,
  withServer,
} from "../_server.ts";

const PROJECT = fixture("security_control");
const VICTIM_SECRET = "victim-secret-7f3a9c";
const HOSTILE_SECRET = "hostile-secret-51d2e0";

interface State {
  url: string;
  token: string;
  controlPort: number;
}

/** The server's state file (the supervisor writes it just after serving). */
async function readState(runtimeDir: string, port: number): Promise<State> {
  const path = join(runtimeDir, "cortex", `${port}.json`);
  for (let i = 0; i < 200; i++) {
    try {
      return JSON.parse(await Deno.readTextFile(path));
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`No state file at ${path}`);
}

/** Runs `fn` against the fixture with its state file in a temporary dir. */
async function withProject(
  args: string[],
  fn: (s: RunningServer, state: State) => Promise<void>,
): Promise<void> {
  const runtimeDir = await Deno.makeTempDir();
  try {
    await withServer(
      PROJECT,
      { args, env: { XDG_RUNTIME_DIR: runtimeDir } },
      async (s) => await fn(s, await readState(runtimeDir, s.port)),
    );
  } finally {
    await Deno.remove(runtimeDir, { recursive: true });
  }
}

type Attempt =
  | { ok: true; value: unknown }
  | { ok: false; status: number | null; message: string; issues: unknown };

async function op(
  s: RunningServer,
  api: "hostile" | "manager",
  body: Record<string, unknown>,
): Promise<Attempt> {
  const res = await fetch(`${s.url}/${api}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, `the ${api} API answers`);
  return await res.json();
}

/** `ctx.client[method](...args)` in the API `api`. */
function call(
  s: RunningServer,
  api: "hostile" | "manager",
  method: string,
  ...args: unknown[]
): Promise<Attempt> {
  return op(s, api, { op: "call", method, args });
}

function refused(
  result: Attempt,
  status: number,
  what: RegExp,
): void {
  assert.equal(
    result.ok,
    false,
    `expected a refusal: ${JSON.stringify(result)}`,
  );
  const r = result as Extract<Attempt, { ok: false }>;
  assert.equal(r.status, status, JSON.stringify(r));
  assert.match(r.message, what);
}

function value<T>(result: Attempt): T {
  assert.equal(result.ok, true, JSON.stringify(result));
  return (result as { value: T }).value;
}

/** The victim answers as itself, with its original configuration. */
async function assertVictimIntact(s: RunningServer): Promise<void> {
  for (const path of ["/victim", "/victim/login"]) {
    const res = await fetch(`${s.url}${path}`);
    assert.equal(res.status, 200, path);
    assert.deepEqual(await res.json(), { who: "victim", version: 1, path });
  }
}

type Spec = { spec: { handler: Record<string, unknown> } };

/** Waits until `name` is live again (after a patch or refresh). */
async function waitLive(s: RunningServer, name: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const api = value<{ status: string }>(
      await call(s, "manager", "get", name),
    );
    if (api.status === "live") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`API "${name}" is not live again`);
}

Deno.test("security: a hostile handler finds no control token and cannot manage other APIs", async (t) => {
  await withProject([], async (s, state) => {
    assert.ok(state.token.length >= 16);

    await t.step("the token is nowhere handler code can look", async () => {
      const seen = await op(s, "hostile", {
        op: "find-token",
        controlUrl: state.url,
      });
      const haystack = JSON.stringify(seen);
      assert.ok(
        !haystack.includes(state.token),
        "the control token is reachable from handler code",
      );
      // ctx.client worked meanwhile: reads are allowed by default.
      assert.match(haystack, /VICTIM_SECRET/);
    });

    await t.step(
      "get and list redact every API's handler.env values",
      async () => {
        const get = await call(s, "hostile", "get", "victim");
        const env = value<Spec>(get).spec.handler.env;
        assert.deepEqual(env, { VICTIM_SECRET: "<redacted>" });
        const own = await call(s, "hostile", "get", "hostile");
        const list = await call(s, "hostile", "list");
        for (const r of [get, own, list]) {
          const text = JSON.stringify(r);
          assert.ok(!text.includes(VICTIM_SECRET), "victim secret shown");
          assert.ok(!text.includes(HOSTILE_SECRET), "own secret shown");
        }
      },
    );

    await t.step("patching another API is refused (403)", async () => {
      refused(
        await call(s, "hostile", "patch", "victim", {
          handler: { path: "hostile.ts" },
        }),
        403,
        /^API "hostile" may not patch API "victim": add "victim" \(or "\*"\) to handler\.control\.patch of API "hostile" in cortex\.yaml$/,
      );
      refused(
        await call(s, "hostile", "patch", "victim", {
          autoscaling: { max_replicas: 1 },
        }),
        403,
        /may not patch API "victim"/,
      );
    });

    await t.step(
      "deploying, also on another API's path, is refused (403)",
      async () => {
        refused(
          await call(s, "hostile", "deploy", {
            yaml:
              "name: evil\nhandler: { path: hostile.ts }\nnetworking: { endpoint: /victim/login }\n",
          }),
          403,
          /^API "hostile" may not deploy API "evil": add "evil" \(or "\*"\) to handler\.control\.deploy/,
        );
        refused(
          await call(s, "hostile", "deploy", {
            yaml: "name: victim\nhandler: { path: hostile.ts }\n",
          }),
          403,
          /may not deploy API "victim"/,
        );
        refused(
          await call(s, "hostile", "deploy", { projectDir: PROJECT }),
          403,
          /may not deploy the project directory.*add "\*" to handler\.control\.deploy/,
        );
      },
    );

    await t.step(
      "deleting, refreshing and reading logs of another API are refused (403)",
      async () => {
        refused(
          await call(s, "hostile", "delete", "victim"),
          403,
          /may not delete API "victim".*handler\.control\.delete/,
        );
        refused(
          await call(s, "hostile", "refresh", "victim"),
          403,
          /may not refresh API "victim".*handler\.control\.refresh/,
        );
        refused(
          await call(s, "hostile", "logs", "victim"),
          403,
          /may not read the logs of API "victim".*handler\.control\.logs/,
        );
      },
    );

    await t.step(
      "patching its own allow_net (to loopback or anything) is refused",
      async () => {
        for (const host of ["127.0.0.1", `127.0.0.1:${state.controlPort}`]) {
          refused(
            await call(s, "hostile", "patch", "hostile", {
              handler: { allow_net: [host] },
            }),
            403,
            /may not patch API "hostile"/,
          );
        }
        const api = value<Spec>(await call(s, "hostile", "get", "hostile"));
        assert.deepEqual(api.spec.handler.allow_net, []);
      },
    );

    await t.step(
      "the control API is out of the replica's network reach, even with the token",
      async () => {
        const r = await op(s, "hostile", {
          op: "direct",
          controlUrl: state.url,
          token: state.token,
          path: "/apis/victim",
        });
        refused(
          { ...r, status: 0 } as Attempt,
          0,
          /net access to "127\.0\.0\.1:/,
        );
      },
    );

    await t.step("the victim is unchanged and still serving", async () => {
      await assertVictimIntact(s);
      const list = value<{ name: string }[]>(await call(s, "hostile", "list"));
      assert.deepEqual(list.map((a) => a.name), [
        "victim",
        "hostile",
        "manager",
      ]);
    });
  });
});

Deno.test("security: handler.control grants what it names, and never handler.control itself, overlapping paths or loopback", async (t) => {
  await withProject([], async (s, state) => {
    await t.step("read_env shows the granted API's values only", async () => {
      const victim = value<Spec>(await call(s, "manager", "get", "victim"));
      assert.deepEqual(victim.spec.handler.env, {
        VICTIM_SECRET: VICTIM_SECRET,
      });
      const hostile = value<Spec>(await call(s, "manager", "get", "hostile"));
      assert.deepEqual(hostile.spec.handler.env, {
        HOSTILE_SECRET: "<redacted>",
      });
    });

    await t.step(
      "logs streams the granted API's lines through the runtime",
      async () => {
        await (await fetch(`${s.url}/victim`)).body?.cancel();
        const lines = value<string[]>(
          await call(s, "manager", "logs", "victim"),
        );
        assert.ok(lines.length > 0, "no log lines");
        for (const line of lines) {
          const rec = JSON.parse(line);
          assert.ok(
            rec.labels?.apiName === "victim" || rec.api === "victim",
            line,
          );
        }
        assert.ok(
          lines.some((l) => JSON.parse(l).labels?.apiName === "victim"),
          "the victim's own lines",
        );
        refused(
          await call(s, "manager", "logs", "hostile"),
          403,
          /may not read the logs of API "hostile"/,
        );
      },
    );

    await t.step(
      "patch and refresh work on granted APIs; delete and deploy stay refused",
      async () => {
        const patched = value<
          { spec: { autoscaling: { max_replicas: number } } }
        >(
          await call(s, "manager", "patch", "victim", {
            autoscaling: { max_replicas: 3 },
          }),
        );
        assert.equal(patched.spec.autoscaling.max_replicas, 3);
        // refresh() resolves with nothing.
        assert.equal(
          value(await call(s, "manager", "refresh", "victim")),
          undefined,
        );
        refused(await call(s, "manager", "delete", "victim"), 403, /delete/);
        // Let the roll-outs finish (a replica still starting at shutdown
        // would hold the stop up to its grace period).
        await waitLive(s, "victim");
        refused(
          await call(s, "manager", "patch", "hostile", { autoscaling: {} }),
          403,
          /may not patch API "hostile"/,
        );
      },
    );

    await t.step(
      "handler.control cannot be changed through ctx.client",
      async () => {
        for (const target of ["manager", "victim"]) {
          refused(
            await call(s, "manager", "patch", target, {
              handler: { control: { delete: ["*"] } },
            }),
            403,
            new RegExp(
              `^API "manager" may not change handler\\.control of API "${target}"`,
            ),
          );
        }
      },
    );

    await t.step(
      "an endpoint overlapping an API it may not patch is refused",
      async () => {
        refused(
          await call(s, "manager", "patch", "victim", {
            networking: { endpoint: "/hostile/login" },
          }),
          403,
          /may not patch API "victim" on "\/hostile\/login": it overlaps the endpoint "\/hostile" of API "hostile"; add "hostile" \(or "\*"\) to handler\.control\.patch/,
        );
      },
    );

    await t.step(
      "the redaction placeholder is not accepted as a value",
      async () => {
        refused(
          await call(s, "manager", "patch", "victim", {
            handler: { env: { VICTIM_SECRET: "<redacted>" } },
          }),
          400,
          /handler\.env\.VICTIM_SECRET is the placeholder/,
        );
      },
    );

    await t.step(
      "allow_net: no bare host, no loopback without --allow-loopback-net, never the server's ports",
      async () => {
        const cases: [string, RegExp][] = [
          ["127.0.0.1", /a port is required/],
          ["*:443", /wildcards are not allowed/],
          ["127.0.0.1:5432", /a loopback address.*--allow-loopback-net/],
          [`localhost:${state.controlPort}`, /a loopback address/],
          [`api.example.com:${s.port}`, /port \d+ is this server's HTTP port/],
        ];
        for (const [host, why] of cases) {
          const r = await call(s, "manager", "patch", "manager", {
            handler: { allow_net: [host] },
          });
          refused(r, 400, /allow_net\[0\]/);
          assert.match((r as { message: string }).message, why, host);
        }
        const api = value<Spec>(await call(s, "manager", "get", "manager"));
        assert.deepEqual(api.spec.handler.allow_net, []);
      },
    );

    await t.step("the operator's token still does everything", async () => {
      const res = await fetch(`${state.url}/apis/victim`, {
        headers: { authorization: `Bearer ${state.token}` },
      });
      const api = await res.json();
      assert.equal(api.spec.handler.env.VICTIM_SECRET, VICTIM_SECRET);
    });
  });
});

Deno.test("security: with --allow-loopback-net, loopback is grantable but the server's own ports are not", async () => {
  await withProject(["--allow-loopback-net"], async (s, state) => {
    for (
      const [host, what] of [
        [`127.0.0.1:${state.controlPort}`, "control"],
        [`localhost:${s.port}`, "HTTP"],
      ]
    ) {
      const r = await call(s, "manager", "patch", "manager", {
        handler: { allow_net: [host] },
      });
      refused(r, 400, new RegExp(`is this server's ${what} port`));
    }
  });
});

Deno.test("security: a patched loopback grant reaches nothing the serving process was not given at start", async () => {
  // Before: the serving process held 127.0.0.1 on every port (control port
  // 0), so patching allow_net to 127.0.0.1 reached any loopback service.
  const local = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("loopback service"),
  );
  try {
    await withProject(["--allow-loopback-net"], async (s) => {
      const url = `http://127.0.0.1:${local.addr.port}`;
      const reach = () =>
        op(s, "manager", {
          op: "direct",
          controlUrl: url,
          path: "/",
          token: "none",
        });
      refused({ ...(await reach()), status: 0 } as Attempt, 0, /net access/);
      // Allowed by the rules (the flag is on), so the patch is accepted...
      value(
        await call(s, "manager", "patch", "manager", {
          handler: { allow_net: [`127.0.0.1:${local.addr.port}`] },
        }),
      );
      // ...but no replica can get a grant its serving process lacks.
      await s.waitForLine(
        (l) => String(l.message).startsWith('Roll-out of API "manager" failed'),
        20_000,
      );
      refused({ ...(await reach()), status: 0 } as Attempt, 0, /net access/);
    });
  } finally {
    await local.shutdown();
  }
});

Deno.test("security: a loopback allow_net entry stops serve unless --allow-loopback-net is given", async () => {
  const project = fixture("security_loopback");
  const refusedRun = await runToExit(project, { timeoutMs: 30_000 });
  assert.equal(refusedRun.code, 2);
  assert.match(
    refusedRun.stderr,
    /cortex\.yaml:6: handler\.allow_net\[0\] is "localhost:5432": a loopback address: handlers may not reach this machine's own services unless the server was started with --allow-loopback-net/,
  );
  await withServer(project, { args: ["--allow-loopback-net"] }, async (s) => {
    const res = await fetch(`${s.url}/local-db`);
    assert.deepEqual(await res.json(), { ok: true });
  });
});
