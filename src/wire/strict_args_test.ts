import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { parseStrictArgs } from "./strict_args.ts";
import { SERVE_FLAGS } from "./serve_options.ts";

const OPTIONS = {
  port: { type: "string" },
  watch: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  x: { type: "string", short: "x" },
  q: { type: "boolean" },
} as const;

/** Every form of argument parseArgs distinguishes, good and bad. */
const CASES: string[][] = [
  [],
  ["dir"],
  ["dir", "--port=8080", "--watch"],
  ["--port", "8080", "dir"],
  ["--port", "a", "--port", "b"],
  ["--port=", "a"],
  ["--port", "-"],
  ["--port=-1"],
  ["--port", "-1"],
  ["--port", "--watch"],
  ["--port"],
  ["--foo"],
  ["--foo=1"],
  ["--watch=1"],
  ["--watch="],
  ["--help=x"],
  ["-h"],
  ["-hh"],
  ["-h=1"],
  ["-hx"],
  ["-hxv"],
  ["-xh"],
  ["-x"],
  ["-x", "-h"],
  ["-x", "v"],
  ["-q"],
  ["-z"],
  ["-5"],
  ["-"],
  ["--"],
  ["a", "--", "--foo", "-h"],
  ["---x"],
  ["--=a"],
  ["--__proto__"],
  ["--constructor"],
  ["--toString=1"],
];

function outcome(parse: () => { values: object; positionals: string[] }) {
  try {
    const { values, positionals } = parse();
    return { values: { ...values }, positionals };
  } catch (error) {
    return { error: (error as Error).message, type: (error as Error).name };
  }
}

Deno.test("parseStrictArgs() parses and rejects exactly as node:util parseArgs in strict mode", () => {
  for (const args of CASES) {
    const ours = outcome(() => parseStrictArgs(args, OPTIONS));
    const node = outcome(() =>
      parseArgs({
        args,
        options: OPTIONS,
        strict: true,
        allowPositionals: true,
      })
    );
    assert.deepEqual(ours, node, JSON.stringify(args));
  }
});

Deno.test("parseStrictArgs() reads the serve flags as node:util parseArgs does", () => {
  const cases = [
    ["proj", "--port", "0", "--host=127.0.0.1", "--no-access-log", "-h"],
    ["--max-connections", "--watch"],
    ["--log-level", "debug", "--api", "a", "--api", "b", "x", "y"],
    ["--no-check=yes"],
  ];
  for (const args of cases) {
    assert.deepEqual(
      outcome(() => parseStrictArgs(args, SERVE_FLAGS)),
      outcome(() =>
        parseArgs({
          args,
          options: SERVE_FLAGS,
          strict: true,
          allowPositionals: true,
        })
      ),
      JSON.stringify(args),
    );
  }
});

Deno.test("parseStrictArgs() values have no prototype: a flag named like an Object method is unknown", () => {
  const { values } = parseStrictArgs(["--port=1"], OPTIONS);
  assert.equal(Object.getPrototypeOf(values), null);
  assert.throws(
    () => parseStrictArgs(["--toString"], OPTIONS),
    /Unknown option '--toString'/,
  );
});
