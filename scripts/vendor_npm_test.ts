/**
 * The committed `src/vendor/` is exactly what `vendor_npm.ts` makes of the
 * pinned npm packages in Deno's npm cache: copies byte for byte, the derived
 * files by their fixed transforms. An edit to a vendored file, or a version
 * bump without re-vendoring, fails here.
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { expectedFiles, PACKAGES, VENDOR_DIR } from "./vendor_npm.ts";

async function committed(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const walk = async (at: string) => {
    for await (const entry of Deno.readDir(at)) {
      const abs = join(at, entry.name);
      if (entry.isDirectory) await walk(abs);
      else out.set(relative(dir, abs), await Deno.readFile(abs));
    }
  };
  await walk(dir);
  return out;
}

for (const pkg of PACKAGES) {
  Deno.test(`src/vendor/${pkg.name} is ${pkg.name}@${pkg.version} (${pkg.license})`, async () => {
    const expected = await expectedFiles(pkg);
    const actual = await committed(join(VENDOR_DIR, pkg.name));
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    for (const [path, bytes] of expected) {
      assert.ok(
        bytes.length === actual.get(path)?.length &&
          bytes.every((b, i) => b === actual.get(path)![i]),
        `src/vendor/${pkg.name}/${path} differs from ${pkg.name}@${pkg.version}`,
      );
    }
    const license = [...expected.keys()].find((p) => p.startsWith("LICENSE"));
    assert.ok(license, `${pkg.name}: no LICENSE file vendored`);
  });
}

Deno.test("src/vendor: the derived modules behave as the packages document", async () => {
  const { parse } = await import("../src/vendor/dotenv/parse.mjs");
  assert.deepEqual(
    parse("export A=1\nB='two words' # c\nC=\"x\\ny\"\r\nD:  e\n#E=f\n"),
    { A: "1", B: "two words", C: "x\ny", D: "e" },
  );
  const ignore = (await import("../src/vendor/ignore/index.mjs")).default;
  const rules = ignore().add("*.log\n!keep.log\nbuild/\n");
  assert.equal(rules.ignores("a.log"), true);
  assert.equal(rules.ignores("keep.log"), false);
  assert.equal(rules.ignores("build/x.ts"), true);
  assert.equal(rules.ignores("src/x.ts"), false);
});
