/**
 * The `cortex` command: serve, validate, compile, export, and the control
 * commands for a running server.
 *
 * `serve` first starts its serving process ahead from the last start's
 * record, if there is one (src/supervisor/speculative_start.ts), before the
 * rest of the CLI loads: that is why the CLI is imported here, not above.
 *
 * @module
 */

import { userDirectory } from "./src/cli/user_directory.ts";

if (import.meta.main) {
  const start = Deno.args[0] === "serve"
    ? await (await import("./src/supervisor/speculative_start.ts"))
      .SpeculativeStart.begin(Deno.args, userDirectory())
    : undefined;
  let code: number;
  try {
    const { runCli } = await import("./src/cli/main.ts");
    code = await runCli(Deno.args, start);
  } finally {
    start?.discard();
  }
  Deno.exit(code);
}
