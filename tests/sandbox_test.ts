/**
 * The handler sandbox (README "Permissions and the sandbox"): each denial fails with
 * an error naming the permission, and what is allowed works.
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "./_server.ts";

const PROJECT = fixture("sandbox");

interface OpResult {
  ok: boolean;
  value?: unknown;
  name?: string;
  message?: string;
}

Deno.test("sandbox: denials name the permission; allowed operations work", async (t) => {
  await withServer(
    PROJECT,
    { env: { FOO_HOST_SECRET: "leaked" } },
    async ({ url }) => {
      const op = async (name: string): Promise<OpResult> => {
        const res = await fetch(`${url}/sandbox?op=${name}`);
        assert.equal(res.status, 200);
        return await res.json();
      };
      const denied = async (name: string, kind: RegExp, target: RegExp) => {
        const r = await op(name);
        assert.equal(
          r.ok,
          false,
          `${name} was allowed: ${JSON.stringify(r.value)}`,
        );
        assert.match(r.message ?? "", kind);
        assert.match(r.message ?? "", target);
        return r;
      };

      await t.step("reading a project file works", async () => {
        assert.deepEqual(await op("read-public"), {
          ok: true,
          value: "public data\n",
        });
      });
      await t.step("reading /etc/hostname is denied", async () => {
        await denied("read-etc", /read access/, /\/etc\/hostname/);
      });
      await t.step("reading outside the project (../) is denied", async () => {
        await denied("read-parent", /read access/, /payload\/cortex\.yaml/);
      });
      await t.step(
        "reading a file matched by .cortexignore is denied",
        async () => {
          await denied("read-ignored", /read access/, /private\/data\.txt/);
        },
      );
      await t.step("reading a dotfile is denied", async () => {
        await denied("read-dotfile", /read access/, /\.secret/);
      });
      await t.step("reading cortex.yaml is denied", async () => {
        await denied("read-yaml", /read access/, /cortex\.yaml/);
      });
      await t.step("writing into the project directory is denied", async () => {
        await denied("write-project", /write access/, /written\.txt/);
        await assert.rejects(
          Deno.stat(`${PROJECT}/written.txt`),
          Deno.errors.NotFound,
        );
      });
      await t.step("writing into ctx.scratchDir works", async () => {
        assert.deepEqual(await op("write-scratch"), {
          ok: true,
          value: "scratch ok",
        });
      });
      await t.step(
        "running a process is denied (output and spawn)",
        async () => {
          await denied("run", /run access/, /true/);
          await denied("spawn", /run access/, /true/);
        },
      );
      await t.step(
        "fetch to a host outside handler.allow_net is denied",
        async () => {
          await denied("fetch", /net access/, /handler\.allow_net/);
          const r = await op("fetch");
          assert.match(r.message ?? "", /example\.com/);
        },
      );
    },
  );
});

Deno.test("sandbox: the handler sees .env and handler.env, never the host environment", async () => {
  await withServer(
    PROJECT,
    { env: { FOO_HOST_SECRET: "leaked" } },
    async ({ url }) => {
      const r = await (await fetch(`${url}/sandbox?op=env`)).json();
      assert.equal(r.ok, true);
      const env = r.value;
      assert.equal(env.host, null);
      assert.equal(env.path, null);
      assert.equal(env.dotenv, "dotenv-value");
      assert.equal(env.yaml, "yaml-value");
      assert.equal(env.shared, "from-handler-env");
      assert.equal(env.quoted, "a b # not a comment");
      const keys = Object.keys(env.all).sort();
      const own = keys.filter((k) => !k.startsWith("CORTEX_"));
      assert.deepEqual(own, ["FROM_DOTENV", "FROM_YAML", "QUOTED", "SHARED"]);
      assert.ok(
        keys.some((k) => k.startsWith("CORTEX_")),
        `no CORTEX_* variable in ${keys}`,
      );
      assert.ok(!JSON.stringify(env.all).includes("leaked"));
    },
  );
});
