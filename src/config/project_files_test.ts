import assert from "node:assert/strict";
import { join } from "node:path";
import { listProjectFiles } from "./project_files.ts";

/** Creates `files` (path → contents) under a new temp dir. */
async function makeProject(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cortex_files_" });
  for (const [path, text] of Object.entries(files)) {
    const full = join(dir, path);
    await Deno.mkdir(join(full, ".."), { recursive: true });
    await Deno.writeTextFile(full, text);
  }
  return dir;
}

async function withProject(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await makeProject(files);
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("listProjectFiles() lists sorted POSIX paths and skips dotfiles, dot-folders and cortex.yaml", async () => {
  await withProject({
    "cortex.yaml": "",
    "handler.ts": "",
    "values.json": "",
    "b/z.txt": "",
    "b/a.txt": "",
    ".env": "",
    ".cortexignore": "",
    ".git/config": "",
    "models/.cache/w.bin": "",
    "models/.hidden": "",
    "models/m.onnx": "",
    "sub/cortex.yaml": "",
  }, async (dir) => {
    assert.deepEqual(await listProjectFiles(dir), [
      "b/a.txt",
      "b/z.txt",
      "handler.ts",
      "models/m.onnx",
      "sub/cortex.yaml",
      "values.json",
    ]);
  });
});

Deno.test("listProjectFiles() applies .cortexignore with gitignore semantics", async () => {
  await withProject({
    ".cortexignore": [
      "# a comment line, not a pattern",
      "*.log",
      "!keep.log",
      "build/",
      "/top.txt",
      "data/*.csv",
      "!data/small.csv",
      "",
    ].join("\n"),
    "# a comment line, not a pattern": "",
    "handler.ts": "",
    "a.log": "",
    "keep.log": "",
    "nested/b.log": "",
    "build/out.js": "",
    "src/build/x.js": "",
    "build.ts": "",
    "top.txt": "",
    "nested/top.txt": "",
    "data/big.csv": "",
    "data/small.csv": "",
    "data/deeper/c.csv": "",
  }, async (dir) => {
    assert.deepEqual(await listProjectFiles(dir), [
      "# a comment line, not a pattern",
      "build.ts",
      "data/deeper/c.csv",
      "data/small.csv",
      "handler.ts",
      "keep.log",
      "nested/top.txt",
    ]);
  });
});

Deno.test("listProjectFiles() cannot re-include a file inside an ignored directory", async () => {
  await withProject({
    ".cortexignore": "secret/\n!secret/ok.txt\n",
    "secret/ok.txt": "",
    "handler.ts": "",
  }, async (dir) => {
    assert.deepEqual(await listProjectFiles(dir), ["handler.ts"]);
  });
});

Deno.test("listProjectFiles() keeps symlinks inside the project and skips the rest", async () => {
  const outside = await makeProject({ "secret.txt": "s", "d/x.txt": "" });
  try {
    await withProject({ "handler.ts": "", "real/v.json": "" }, async (dir) => {
      await Deno.symlink(join(outside, "secret.txt"), join(dir, "out.txt"));
      await Deno.symlink(join(outside, "d"), join(dir, "outdir"));
      await Deno.symlink(join(dir, "real/v.json"), join(dir, "in.json"));
      await Deno.symlink(join(dir, "real"), join(dir, "alias"));
      await Deno.symlink(dir, join(dir, "real/loop"));
      await Deno.symlink(join(dir, "missing"), join(dir, "dangling"));
      assert.deepEqual(await listProjectFiles(dir), [
        "alias/v.json",
        "handler.ts",
        "in.json",
        "real/v.json",
      ]);
    });
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("listProjectFiles() fails on a missing directory", async () => {
  await assert.rejects(
    listProjectFiles("/nonexistent/cortex/project"),
    Deno.errors.NotFound,
  );
});

Deno.test("listProjectFiles() leaves out links whose real target is not a project file", async () => {
  await withProject({
    "handler.ts": "",
    ".env": "SECRET=1",
    ".secret": "s",
    ".git/config": "",
    ".cortexignore": "private/\n*.key\n",
    "private/data.txt": "",
    "server.key": "",
    "cortex.yaml": "",
    "public/a.txt": "",
    "sub/cortex.yaml": "",
  }, async (dir) => {
    const link = (target: string, path: string) =>
      Deno.symlink(target, join(dir, path));
    await link(".env", "env.txt");
    await link(join(dir, ".secret"), "secret.txt");
    await link(".git", "git");
    await link(".git/config", "gitconfig");
    await link("cortex.yaml", "config.yaml");
    await link("private", "priv");
    await link("private/data.txt", "data.txt");
    await link("server.key", "key.txt");
    await link("public", "pub");
    await link("public/a.txt", "a.txt");
    await link("sub/cortex.yaml", "nested.yaml");
    // A link inside a linked directory is checked by its own target.
    await Deno.symlink("../.env", join(dir, "public/env"));
    assert.deepEqual(await listProjectFiles(dir), [
      "a.txt",
      "handler.ts",
      "nested.yaml",
      "pub/a.txt",
      "public/a.txt",
      "sub/cortex.yaml",
    ]);
  });
});
