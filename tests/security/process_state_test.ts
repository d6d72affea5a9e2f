/**
 * No process-wide side effects (issue 11, item 5): a handler's calls that
 * would change state shared by every API of the server (working directory,
 * umask, signal handlers, stdin, exit/abort) are refused with an error
 * naming the call, also through the originals it could grab, and another
 * API's relative reads keep working.
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "../_server.ts";

const PROJECT = fixture("sec_process");

interface OpResult {
  ok: boolean;
  value?: unknown;
  name?: string;
  message?: string;
}

/** Each op and the call its refusal must name. */
const REFUSED: [op: string, call: RegExp][] = [
  [
    "Deno.chdir",
    /^Deno\.chdir\(\) is not available to handlers: it would change the working directory of every API in this server; use absolute paths \(ctx\.projectDir, ctx\.scratchDir\)$/,
  ],
  ["chdir-descriptor", /^Deno\.chdir\(\) is not available to handlers/],
  ["process.chdir", /^process\.chdir\(\) is not available to handlers/],
  ["node:process-default.chdir", /^process\.chdir\(\) is not available/],
  ["nested-worker.chdir", /^new Worker\(\) is not available to handlers/],
  ["Deno.umask", /^Deno\.umask\(\) is not available to handlers/],
  ["process.umask", /^process\.umask\(mask\) is not available to handlers/],
  ["Deno.addSignalListener", /^Deno\.addSignalListener\(\) is not available/],
  ["process.on-SIGTERM", /^process\.on\("SIGTERM"\) is not available/],
  ["Deno.stdin.setRaw", /^Deno\.stdin\.setRaw\(\) is not available/],
  ["Deno.stdin.read", /^Deno\.stdin is not available to handlers/],
  ["Deno.exit", /^Deno\.exit\(\) is not available to handlers/],
  ["process.exit", /^process\.exit\(\) is not available to handlers/],
  ["process.abort", /^process\.abort\(\) is not available to handlers/],
];

Deno.test("process state: process-wide calls are refused; another API's relative reads are unaffected", async (t) => {
  await withServer(PROJECT, {}, async ({ url }) => {
    const get = async (path: string): Promise<OpResult> => {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 200, `${path}: ${res.status}`);
      return await res.json();
    };
    const victim = await get("/victim");
    assert.deepEqual(victim, { ok: true, value: "relative read works\n" });
    const cwd = (await get("/hostile?op=cwd")).value;

    for (const [op, call] of REFUSED) {
      await t.step(`${op} is refused`, async () => {
        const r = await get(`/hostile?op=${op}`);
        assert.equal(r.ok, false, `${op} was allowed: ${JSON.stringify(r)}`);
        assert.equal(r.name, "NotCapable", JSON.stringify(r));
        assert.match(r.message ?? "", call);
      });
    }
    await t.step("Deno's internal ops are out of reach", async () => {
      const r = await get("/hostile?op=internal-ops.chdir");
      assert.equal(r.ok, false, JSON.stringify(r));
    });
    await t.step("the other API's relative read still works", async () => {
      assert.deepEqual(await get("/victim"), victim);
      assert.equal((await get("/hostile?op=cwd")).value, cwd);
    });
  });
});
