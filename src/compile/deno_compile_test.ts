import assert from "node:assert/strict";
import { loadProject } from "../config/load_project.ts";
import {
  cachedDenortPath,
  DenoCompileError,
  denortMessage,
  DenortUnavailableError,
  isDenortFailure,
  runDenoCompile,
} from "./deno_compile.ts";
import { planCompile } from "./plan.ts";

// What deno 2.9.6 prints when it cannot download denort (no network).
const DOWNLOAD_FAILED = `Compile hi.ts to hi
Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
error: Writing deno compile executable to temporary file 'hi.tmp-8b6267998e7955c6'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
    3: dns error
    4: failed to lookup address information: Name or service not known

Stack backtrace:
   0: <unknown>`;

const DENORT_BIN_MISSING = `Compile hi.ts to hi
error: Writing deno compile executable to temporary file 'hi.tmp-4b7ed0bd35cea562'

Caused by:
    0: Could not find denort at '/nonexist'
    1: No such file or directory (os error 2)`;

Deno.test("isDenortFailure() recognises download and DENORT_BIN failures only", () => {
  assert.ok(isDenortFailure(DOWNLOAD_FAILED));
  assert.ok(isDenortFailure(DENORT_BIN_MISSING));
  assert.ok(
    !isDenortFailure(
      "error: Type checking failed.\n  TS2322 [ERROR]: Type 'string' is not assignable",
    ),
  );
});

Deno.test("denortMessage() names the archive, the cause and DENORT_BIN, without a stack", () => {
  const text = denortMessage(DOWNLOAD_FAILED, "x86_64-unknown-linux-gnu");
  assert.match(text, /denort-x86_64-unknown-linux-gnu\.zip/);
  assert.match(
    text,
    /\(failed to lookup address information: Name or service not known\)/,
  );
  assert.match(text, /DENORT_BIN=\/path\/to\/denort/);
  assert.doesNotMatch(text, /backtrace|<unknown>/);
  assert.ok(text.split("\n").length <= 3);
});

Deno.test("cachedDenortPath() is where deno compile caches the base binary", () => {
  assert.equal(
    cachedDenortPath("/d", "x86_64-unknown-linux-gnu"),
    `/d/dl/release/v${Deno.version.deno}/denort-x86_64-unknown-linux-gnu.zip`,
  );
});

async function fakeDeno(stderr: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cortex-fake-deno-" });
  await Deno.writeTextFile(`${dir}/stderr.txt`, stderr);
  const path = `${dir}/deno`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\ncat "${dir}/stderr.txt" >&2\nexit 1\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("runDenoCompile() turns deno compile's download failure into DenortUnavailableError", async () => {
  const project = await loadProject(
    new URL("../../tests/fixtures/compile/", import.meta.url).pathname,
  );
  const plan = await planCompile(project, {
    output: "/tmp/x/api",
    buildDir: "/tmp/x/api.build",
  });
  const fake = await fakeDeno(DOWNLOAD_FAILED);
  try {
    await assert.rejects(runDenoCompile(plan, fake), DenortUnavailableError);
    await Deno.writeTextFile(
      fake.replace(/deno$/, "stderr.txt"),
      "error: Type checking failed.\n",
    );
    await assert.rejects(
      runDenoCompile(plan, fake),
      (e: Error) =>
        e instanceof DenoCompileError && /Type checking failed/.test(e.message),
    );
  } finally {
    await Deno.remove(fake.replace(/\/deno$/, ""), { recursive: true });
  }
});
