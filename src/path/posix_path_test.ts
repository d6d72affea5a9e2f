import assert from "node:assert/strict";
import { posix } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  basenamePath,
  dirnamePath,
  filePath,
  fileUrl,
  isAbsolutePath,
  joinPath,
  relativePath,
  resolvePath,
  SEP,
} from "./posix_path.ts";

/** Paths of every shape: roots, dots, repeated and trailing slashes. */
const SHAPES = [
  "",
  "/",
  "//",
  "///a",
  ".",
  "..",
  "...",
  "./",
  "../",
  "a",
  "a/",
  "a//",
  "/a",
  "/a/",
  "/a/b",
  "/a/b/",
  "/a//b",
  "/a/./b/../c",
  "/a/b/..",
  "/..",
  "/../a",
  "a/../..",
  "a/b/c",
  "/proj/handler.ts",
  "/proj-x/handler.ts",
  "/proj/sub/../../x",
  "~/x",
  "/a b/ü",
];

/** Random paths from segments that exercise normalization. */
function randomPaths(n: number): string[] {
  const segments = ["a", "b", "ab", ".", "..", "", "...", "a.b", "-"];
  return Array.from({ length: n }, () => {
    const parts = Array.from(
      { length: Math.floor(Math.random() * 6) },
      () => segments[Math.floor(Math.random() * segments.length)]!,
    );
    return (Math.random() < 0.6 ? "/" : "") + parts.join("/") +
      (Math.random() < 0.2 ? "/" : "");
  });
}

Deno.test("isAbsolutePath, dirnamePath, basenamePath are node:path's POSIX ones", () => {
  assert.equal(SEP, posix.sep);
  for (const path of [...SHAPES, ...randomPaths(500)]) {
    const p = JSON.stringify(path);
    assert.equal(isAbsolutePath(path), posix.isAbsolute(path), p);
    assert.equal(dirnamePath(path), posix.dirname(path), p);
    assert.equal(basenamePath(path), posix.basename(path), p);
  }
});

Deno.test("resolvePath and relativePath are node:path's POSIX ones", () => {
  // Relative parts resolve against the working directory, as in node:path.
  const shapes = [...SHAPES, ...randomPaths(300)];
  for (const path of shapes) {
    assert.equal(resolvePath(path), posix.resolve(path), JSON.stringify(path));
  }
  for (let i = 0; i < 2000; i++) {
    const pick = () => shapes[Math.floor(Math.random() * shapes.length)]!;
    const parts = Array.from({ length: Math.floor(Math.random() * 4) }, pick);
    const p = JSON.stringify(parts);
    assert.equal(resolvePath(...parts), posix.resolve(...parts), p);
    const [from, to] = [pick(), pick()];
    assert.equal(
      relativePath(from, to),
      posix.relative(from, to),
      JSON.stringify([from, to]),
    );
  }
  assert.equal(resolvePath(), posix.resolve());
  assert.equal(relativePath("/proj", "/proj-x/a"), "../proj-x/a");
  assert.equal(relativePath("/proj", "/proj/a/b"), "a/b");
  assert.equal(relativePath("/", "/a"), "a");
});

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
