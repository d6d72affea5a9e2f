/**
 * The `cortex` command: serve, validate, compile, export, and the control
 * commands for a running server.
 *
 * @module
 */

import { runCli } from "./src/cli/main.ts";

if (import.meta.main) Deno.exit(await runCli(Deno.args));
