import assert from "node:assert/strict";
import { serveProcessArgv } from "../wire/serve_process_args.ts";
import { recordArgsProblem, SERVE_MAIN } from "./speculative_start.ts";

const ROOT = "/tmp/cortex-x";

/** A serving process's command line with its startup files in ROOT. */
function args(
  opts: { denoFlags?: string[]; serve?: string[] } = {},
): string[] {
  return [
    "run",
    "--no-config",
    `--import-map=${ROOT}/import_map.json`,
    `--lock=${ROOT}/deno.lock`,
    "--cached-only",
    ...(opts.denoFlags ?? []),
    SERVE_MAIN,
    ...(opts.serve ?? serveProcessArgv.toArgv({
      projectDir: "/p",
      flags: { port: "8000" },
      scratchRoot: `${ROOT}/gen-1/replicas`,
      replicaSocket: `${ROOT}/gen-1/replicas/r.sock`,
      modules: {
        importMap: `${ROOT}/import_map.json`,
        lock: `${ROOT}/deno.lock`,
      },
      modelsFile: `${ROOT}/models.json`,
      controlReport: `${ROOT}/gen-1/control.json`,
      replaceRequest: `${ROOT}/gen-1/replace-request`,
    })),
  ];
}

Deno.test("recordArgsProblem(): a serving process's command with the start's own files passes", () => {
  assert.equal(recordArgsProblem(args(), ROOT), null);
});

Deno.test("recordArgsProblem(): anything else is named and nothing is started from it", () => {
  const cases: [string[], RegExp][] = [
    [["eval", "1"], /not a serving process's command/],
    [args().filter((a) => a !== SERVE_MAIN), /not a serving process's/],
    [args({ denoFlags: ["other.ts"] }), /not a flag/],
    // Deno would read another import map or config as the process starts.
    [args({ denoFlags: ["--import-map=/elsewhere.json"] }), /import map/],
    [args({ denoFlags: ["--config=/p/deno.json"] }), /import map/],
    [args().filter((a) => !a.startsWith("--lock=")), /lockfile/],
    [args().map((a) => a.replace(`${ROOT}/deno.lock`, "/x.lock")), /lock/],
    // Flags that run other code or widen what it may write or run
    // (src/supervisor/start_record_check_test.ts has them all).
    [args({ denoFlags: ["--preload=/tmp/evil.ts"] }), /does not give/],
    [args({ denoFlags: ["--allow-all"] }), /does not give/],
    // What it binds or writes before "go" stays in the scratch root.
    [
      args().map((a) =>
        a.replace(/^--replica-socket=.*/, "--replica-socket=/tmp/r.sock")
      ),
      /--replica-socket/,
    ],
    [
      args().map((a) => a.replace(/^--scratch-root=.*/, "--scratch-root=/u")),
      /--scratch-root/,
    ],
    // serve_main.ts's own parser.
    [args({ serve: ["/p", "--bogus"] }), /serving process: .*bogus/],
    [args({ serve: ["/p", "/q"] }), /one project directory/],
  ];
  for (const [argv, problem] of cases) {
    assert.match(recordArgsProblem(argv, ROOT) ?? "", problem, argv.join(" "));
  }
});
