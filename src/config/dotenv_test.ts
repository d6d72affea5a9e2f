import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "./config_error.ts";
import { parseDotenv, readDotenv } from "./dotenv.ts";

Deno.test("parseDotenv() reads quotes, comments and export", () => {
  const text = [
    "# comment",
    "PLAIN=value",
    "SPACED = spaced value # trailing comment",
    "SINGLE='single # not a comment'",
    'DOUBLE="line1\\nline2"',
    "export EXPORTED=yes",
    "EMPTY=",
    "PLAIN=second wins",
  ].join("\n");
  assert.deepEqual(parseDotenv(text, ".env"), {
    PLAIN: "second wins",
    SPACED: "spaced value",
    SINGLE: "single # not a comment",
    DOUBLE: "line1\nline2",
    EXPORTED: "yes",
    EMPTY: "",
  });
});

Deno.test("parseDotenv() rejects CORTEX_ variables with file and line", () => {
  const text = "A=1\nCORTEX_PORT=1\n\nexport CORTEX_API=x\n";
  try {
    parseDotenv(text, "proj/.env");
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(
      error.message,
      [
        'proj/.env:2: CORTEX_PORT is reserved: variables starting with "CORTEX_" are set by the runtime',
        'proj/.env:4: CORTEX_API is reserved: variables starting with "CORTEX_" are set by the runtime',
      ].join("\n"),
    );
    assert.deepEqual(error.issues.map((i) => i.field), [
      "CORTEX_PORT",
      "CORTEX_API",
    ]);
  }
});

Deno.test("readDotenv() reads <dir>/.env and gives {} without one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex_dotenv_" });
  try {
    assert.deepEqual(await readDotenv(dir), {});
    await Deno.writeTextFile(join(dir, ".env"), "KEY=value\n");
    assert.deepEqual(await readDotenv(dir), { KEY: "value" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
