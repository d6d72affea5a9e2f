import assert from "node:assert/strict";
import { refusalMessage } from "./process_guards.ts";

Deno.test("refusalMessage() names the call and the reason", () => {
  assert.equal(
    refusalMessage("Deno.chdir()", "it would change the working directory"),
    "Deno.chdir() is not available to handlers: it would change the working directory",
  );
});

Deno.test("installProcessGuards() refuses process-wide calls, also through the originals' other paths", async () => {
  const worker = new Worker(
    new URL("./testdata/process_guards_worker.ts", import.meta.url),
    { type: "module" },
  );
  try {
    const { promise, resolve, reject } = Promise.withResolvers<{
      results: Record<string, { name: string; message: string } | "ok">;
      cwdUnchanged: boolean;
      stdoutWrites: boolean;
    }>();
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(event.message));
    };
    const timer = setTimeout(() => reject(new Error("timed out")), 10_000);
    const { results, cwdUnchanged, stdoutWrites } = await promise.finally(() =>
      clearTimeout(timer)
    );
    const expected: Record<string, RegExp> = {
      "Deno.chdir":
        /^Deno\.chdir\(\) is not available to handlers: it would change the working directory of every API in this server; use absolute paths \(ctx\.projectDir, ctx\.scratchDir\)$/,
      "descriptor": /^Deno\.chdir\(\) is not available/,
      "reassign": /^Deno\.chdir\(\) is not available/,
      "delete": /^Deno\.chdir\(\) is not available/,
      "process.chdir": /^process\.chdir\(\) is not available/,
      "node:process default": /^process\.chdir\(\) is not available/,
      "Deno.umask": /^Deno\.umask\(\) is not available.*file mode mask/,
      "process.umask": /^process\.umask\(mask\) is not available/,
      "Deno.addSignalListener": /^Deno\.addSignalListener\(\) is not available/,
      "process.on": /^process\.on\("SIGTERM"\) is not available/,
      "Deno.exit": /^Deno\.exit\(\) is not available/,
      "process.exit": /^process\.exit\(\) is not available/,
      "process.abort": /^process\.abort\(\) is not available/,
      "Deno.stdin.read": /^Deno\.stdin is not available/,
      "Deno.stdin.setRaw": /^Deno\.stdin\.setRaw\(\) is not available/,
      "Deno.stdout.close": /^Deno\.stdout\.close\(\) is not available/,
      "process.stdin": /^process\.stdin is not available/,
      "Worker": /^new Worker\(\) is not available/,
      "Worker assigned": /^new Worker\(\) is not available.*numThreads = 1/,
    };
    for (const [name, pattern] of Object.entries(expected)) {
      const result = results[name];
      assert.notEqual(result, "ok", `${name} was allowed`);
      assert.equal(
        (result as { name: string }).name,
        "NotCapable",
        `${name}: ${JSON.stringify(result)}`,
      );
      assert.match((result as { message: string }).message, pattern, name);
    }
    // Deno's internal ops are gone (a TypeError reading core of undefined).
    assert.notEqual(results["internal ops"], "ok");
    assert.equal(cwdUnchanged, true);
    assert.equal(stdoutWrites, true);
  } finally {
    worker.terminate();
  }
});
