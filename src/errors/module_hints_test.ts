import assert from "node:assert/strict";
import { moduleImportHint } from "./module_hints.ts";

// Deno 2.9.6's messages for imports outside the graph cached at start.
const CASES: [message: string, specifier: string][] = [
  [
    'Failed loading https://registry.npmjs.org/left-pad-x for package "left-pad-x"\n' +
    '    0: npm package not found in cache: "left-pad-x", --cached-only is specified.',
    "npm:left-pad-x",
  ],
  [
    "Failed caching npm package 'yaml@2.8.0'\n" +
    '    0: npm package not found in cache: "yaml", --cached-only is specified.',
    "npm:yaml",
  ],
  [
    "The lockfile is out of date. Run `deno install --frozen=false`, or rerun with `--frozen=false` to update it.\n" +
    'changes:\n 4 | +    "npm:ignore@7.0.16": "7.0.16",\n',
    "npm:ignore@7.0.16",
  ],
  [
    'Import "zod" not a dependency and not in import map from "file:///p/h.ts"',
    "zod",
  ],
  [
    'Requires import access to "example.com:443", run again with the --allow-import flag',
    "example.com:443",
  ],
];

Deno.test("moduleImportHint() names the specifier and how to declare it", () => {
  for (const [message, specifier] of CASES) {
    const hint = moduleImportHint(new TypeError(message));
    assert.ok(hint, message);
    assert.ok(
      hint.startsWith(
        `Cannot import "${specifier}" at run time: modules are fixed when the server starts; `,
      ),
      hint,
    );
    assert.match(hint, /deno\.json "imports"/);
  }
});

Deno.test("moduleImportHint() leaves other errors alone", () => {
  assert.equal(moduleImportHint(new Error("boom")), null);
  assert.equal(moduleImportHint("npm package not found in cache"), null);
});
