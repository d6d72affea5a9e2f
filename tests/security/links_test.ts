/**
 * Links in the project (issue 11, item 7a): a handler cannot read `.env`,
 * `cortex.yaml`, ignored files, dot-folders or files outside the project
 * through a symbolic link inside the project; links to project files work.
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "../_server.ts";

const PROJECT = fixture("sec_links");

interface ReadResult {
  ok: boolean;
  value?: string;
  message?: string;
}

Deno.test("links: a link whose target is not a project file is not readable", async (t) => {
  await withServer(PROJECT, {}, async ({ url }) => {
    const read = async (path: string): Promise<ReadResult> => {
      const res = await fetch(
        `${url}/links?path=${encodeURIComponent(path)}`,
      );
      assert.equal(res.status, 200);
      return await res.json();
    };
    for (
      const path of [
        "env.txt", // -> .env
        "config.yaml", // -> cortex.yaml
        "ignored.txt", // -> private/data.txt (.cortexignore)
        "ignored_dir/data.txt", // -> private/
        "hidden.txt", // -> .hidden/secret.txt
        "hidden_dir/secret.txt", // -> .hidden/
        "outside.txt", // -> /etc/hostname
      ]
    ) {
      await t.step(`${path} is denied`, async () => {
        const r = await read(path);
        assert.equal(r.ok, false, `${path} was read: ${JSON.stringify(r)}`);
        assert.match(r.message ?? "", /read access/);
      });
    }
    await t.step("links to project files are readable", async () => {
      assert.deepEqual(await read("public_link.txt"), {
        ok: true,
        value: "public data\n",
      });
      assert.deepEqual(await read("data_dir/public.txt"), {
        ok: true,
        value: "public data\n",
      });
    });
  });
});
