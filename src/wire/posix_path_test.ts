import assert from "node:assert/strict";
import { posix } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { filePath, fileUrl, joinPath } from "./posix_path.ts";

Deno.test("joinPath() is node:path's POSIX join", () => {
  const cases: string[][] = [
    [],
    [""],
    ["", ""],
    ["/"],
    ["/proj", "handler.ts"],
    ["/proj/", "/lib/a.ts"],
    ["/proj", "./lib/../a.ts"],
    ["/proj", "../../../../x"],
    ["proj", "../../x"],
    ["..", "..", "a"],
    ["a/b/..", ".."],
    ["./a", "."],
    ["/a//b///c/"],
    ["/a", "b/"],
    ["a", "", "b"],
    ["/a/b", ".."],
    ["/tmp", ".cache"],
    ["~/x", "y"],
    ["/a/b/../c/./d"],
    ["a/.."],
    ["/.."],
    ["./"],
    ["..."],
    ["/a", "..b"],
  ];
  for (const parts of cases) {
    assert.equal(
      joinPath(...parts),
      posix.join(...parts),
      JSON.stringify(parts),
    );
  }
});

Deno.test("filePath() is node:url's fileURLToPath on POSIX", () => {
  const good = [
    "file:///work/src/server/serve_main.ts",
    "file:///a%20b/c%C3%A9.ts",
    "file:///a/b/../c.ts",
    "file:///",
    "file://localhost/x",
    new URL("../replica/process_main.ts", import.meta.url).href,
  ];
  for (const url of good) {
    assert.equal(filePath(url), fileURLToPath(url), url);
    assert.equal(filePath(new URL(url)), fileURLToPath(new URL(url)), url);
  }
  for (
    const url of [
      "https://x/a",
      "file://host/a",
      "file:///a%2Fb",
      "file:///a%2fb",
    ]
  ) {
    assert.throws(() => fileURLToPath(url), TypeError, url);
    assert.throws(() => filePath(url), TypeError, url);
  }
});

Deno.test("fileUrl() is node:url's pathToFileURL on POSIX", () => {
  const paths = [
    "/tmp/cortex-x1/import_map.json",
    "/",
    "/a/b/",
    "/a/b/.",
    "/a/./b/../c//d",
    "/a b/ü/日本/x.json",
    "/a%20b/100%/x",
    "/a\\b",
    "/q?x=1#frag",
    "/tab\tnl\ncr\rend",
    "/semi;colon/[br]/{c}/'q'/\"dq\"/`bt`/^/|/~/$/&/=/+/,/@/!/*/(p)",
    "relative/x.json",
    "./rel/",
    "..",
  ];
  for (const path of paths) {
    assert.equal(
      fileUrl(path).href,
      pathToFileURL(path).href,
      JSON.stringify(path),
    );
    assert.equal(filePath(fileUrl(path)), fileURLToPath(pathToFileURL(path)));
  }
});
