import assert from "node:assert/strict";
import {
  SCRATCH_ROOT,
  type StartRecord,
  startRecordKey,
  StartRecords,
  withoutScratchRoot,
  withScratchRoot,
} from "./start_record.ts";

const RECORD: StartRecord = {
  args: ["run", `--allow-write=${SCRATCH_ROOT}`, "main.ts"],
  env: { OTEL_DENO: "false" },
  files: { "import_map.json": "{}", "deno.lock": '{"version":"5"}' },
};

async function withRecords(
  fn: (records: StartRecords, key: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cortex_records_" });
  try {
    const key = await startRecordKey({
      argv: ["serve", "p", "--port", "8000"],
      cwd: "/home/u",
      runtime: "file:///runtime/ 0.1.0",
    });
    await fn(new StartRecords(`${dir}/records`), key);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("start record: read back as written, readable by the user alone", async () => {
  await withRecords(async (records, key) => {
    assert.equal(await records.read(key), null);
    await records.write(key, RECORD);
    assert.deepEqual(await records.read(key), RECORD);
    assert.equal((await Deno.stat(records.path(key))).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(records.dir)).mode! & 0o777, 0o700);
  });
});

Deno.test("start record: the key covers the command line, directory and runtime", async () => {
  const base = { argv: ["serve", "p"], cwd: "/a", runtime: "r 1" };
  const key = await startRecordKey(base);
  assert.equal(await startRecordKey({ ...base }), key);
  for (
    const other of [
      { ...base, argv: ["serve", "p", "--port", "1"] },
      { ...base, cwd: "/b" },
      { ...base, runtime: "r 2" },
    ]
  ) {
    assert.notEqual(await startRecordKey(other), key);
  }
});

Deno.test("start record: a link, a file others may write, another key's or a malformed one is no record", async () => {
  await withRecords(async (records, key) => {
    await records.write(key, RECORD);
    const path = records.path(key);
    const real = `${records.dir}/elsewhere.json`;

    // A link to a good record.
    await Deno.rename(path, real);
    await Deno.symlink(real, path);
    assert.equal(await records.read(key), null, "a symlink");
    await Deno.remove(path);
    await Deno.rename(real, path);
    assert.deepEqual(await records.read(key), RECORD);

    // Writable by the group or others.
    await Deno.chmod(path, 0o622);
    assert.equal(await records.read(key), null, "group/other-writable");
    await Deno.chmod(path, 0o600);

    // Another invocation's record copied under this key.
    const other = await startRecordKey({ argv: [], cwd: "/", runtime: "" });
    await records.write(other, RECORD);
    await Deno.copyFile(records.path(other), path);
    assert.equal(await records.read(key), null, "another key's record");

    // Malformed: args not strings, unknown file names, not JSON.
    for (
      const bad of [
        { ...RECORD, args: ["run", 1] },
        { ...RECORD, files: { ...RECORD.files, "other.json": "" } },
        { ...RECORD, env: { A: 1 } },
      ]
    ) {
      await records.write(key, bad as unknown as StartRecord);
      assert.equal(await records.read(key), null, JSON.stringify(bad));
    }
    await Deno.writeTextFile(path, "{");
    assert.equal(await records.read(key), null, "not JSON");
  });
});

Deno.test({
  name: "start record: one owned by another user is no record",
  // Only root can give a file away.
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await withRecords(async (records, key) => {
      await records.write(key, RECORD);
      assert.deepEqual(await records.read(key), RECORD);
      await Deno.chown(records.path(key), 65534, 65534);
      assert.equal(await records.read(key), null);
    });
  },
});

Deno.test("start record: the scratch root is stored as a placeholder", () => {
  const root = "/tmp/cortex-abc";
  const args = ["run", `--allow-read=/p,${root}`, `--lock=${root}/deno.lock`];
  const stored = withoutScratchRoot(args, root);
  assert.ok(stored.every((a) => !a.includes(root)));
  assert.deepEqual(withScratchRoot(stored, "/tmp/cortex-xyz"), [
    "run",
    "--allow-read=/p,/tmp/cortex-xyz",
    "--lock=/tmp/cortex-xyz/deno.lock",
  ]);
});

Deno.test("start record: a record swapped for a link to a file others may write between check and read is no record", async () => {
  await withRecords(async (records, key) => {
    await records.write(key, RECORD);
    const path = records.path(key);
    // What another user who may write the directory swaps in.
    const theirs = `${records.dir}/theirs.json`;
    const stored = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(
      theirs,
      JSON.stringify({ ...stored, args: ["run", "--allow-all", "evil.ts"] }),
    );
    await Deno.chmod(theirs, 0o666);
    // The swap lands right after the record's path was checked.
    const lstat = Deno.lstat;
    Object.defineProperty(Deno, "lstat", {
      configurable: true,
      writable: true,
      value: async (p: string | URL) => {
        const info = await lstat(p);
        if (p === path) {
          await Deno.remove(path);
          await Deno.symlink(theirs, path);
        }
        return info;
      },
    });
    try {
      assert.equal(await records.read(key), null);
    } finally {
      Object.defineProperty(Deno, "lstat", {
        configurable: true,
        writable: true,
        value: lstat,
      });
    }
  });
});
