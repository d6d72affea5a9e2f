import assert from "node:assert/strict";
import { join } from "node:path";
import {
  readStateFile,
  removeStateFile,
  stateFilePath,
  writeStateFile,
} from "./state_file.ts";

const STATE = {
  httpPort: 8888,
  controlPort: 40000,
  url: "http://127.0.0.1:40000",
  token: "t".repeat(43),
  pid: 1,
  projectDir: "/p",
  startedAt: "2024-01-01T00:00:00.000Z",
};

Deno.test("stateFilePath() prefers XDG_RUNTIME_DIR, then the home directory", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assert.equal(
    stateFilePath(8888, env({ XDG_RUNTIME_DIR: "/run/user/1", HOME: "/h" })),
    "/run/user/1/cortex/8888.json",
  );
  assert.equal(
    stateFilePath(9000, env({ HOME: "/h" })),
    join("/h", ".cortex", "servers", "9000.json"),
  );
  assert.throws(
    () => stateFilePath(1, env({})),
    /neither XDG_RUNTIME_DIR nor HOME/,
  );
});

Deno.test({
  name:
    "writeStateFile() writes mode 0600 in a 0700 folder, even over a wider file",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "cortex", "8888.json");
      await Deno.mkdir(join(dir, "cortex"));
      await Deno.writeTextFile(path, "{}", { mode: 0o644 });
      await Deno.chmod(path, 0o644);
      await writeStateFile(path, STATE);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      const fresh = join(dir, "new", "1.json");
      await writeStateFile(fresh, STATE);
      assert.equal((await Deno.stat(fresh)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(join(dir, "new"))).mode! & 0o777, 0o700);
      assert.deepEqual(await readStateFile(path), STATE);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("readStateFile() returns null when missing and rejects other JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await readStateFile(join(dir, "none.json")), null);
    await Deno.writeTextFile(join(dir, "bad.json"), '{"x":1}');
    await assert.rejects(readStateFile(join(dir, "bad.json")), SyntaxError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("removeStateFile() removes only a file holding our token", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "s.json");
    await writeStateFile(path, STATE);
    await removeStateFile(path, "another-token");
    assert.notEqual(await readStateFile(path), null);
    await removeStateFile(path, STATE.token);
    assert.equal(await readStateFile(path), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
