/**
 * The `cortex` command: serve, validate, compile, export, and the control
 * commands for a running server.
 *
 * `serve` first starts its serving process ahead from the last start's
 * record, if there is one (src/supervisor/speculative_start.ts), before the
 * rest of the CLI loads: that is why the CLI is imported here, not above,
 * and by a computed URL: Deno reads and parses the graph behind a literal
 * `import()` before a process's first line, and the CLI's (~130 modules)
 * held that head start up by ~5-12 ms of CPU (issue 17).
 *
 * @module
 */

import { userDirectory } from "./src/cli/user_directory.ts";

/** The CLI, read when imported (with the command's read permission). */
function importCli(): Promise<typeof import("./src/cli/main.ts")> {
  return import(new URL("./src/cli/main.ts", import.meta.url).href);
}

if (import.meta.main) {
  const start = Deno.args[0] === "serve"
    ? await (await import("./src/supervisor/speculative_start.ts"))
      .SpeculativeStart.begin(Deno.args, userDirectory())
    : undefined;
  let code: number;
  try {
    const { runCli } = await importCli();
    code = await runCli(Deno.args, start);
  } finally {
    start?.discard();
  }
  Deno.exit(code);
}
