import assert from "node:assert/strict";
import {
  denoFlagsProblem,
  importMapProblem,
  recordEnvProblem,
} from "./start_record_check.ts";
import { UNSTABLE_FLAGS } from "./flags.ts";

const ROOT = "/tmp/cortex-x";
const RUNTIME = new URL("../../", import.meta.url).href;
const MAP_URL = `file://${ROOT}/import_map.json`;

/** The flags the supervisor gives a serving process (src/supervisor/supervise.ts). */
const GOOD_FLAGS = [
  ...UNSTABLE_FLAGS,
  "--no-config",
  `--import-map=${ROOT}/import_map.json`,
  `--lock=${ROOT}/deno.lock`,
  "--cached-only",
  `--allow-read=/p,${ROOT},/runtime/src`,
  `--allow-write=${ROOT}`,
  "--allow-net=0.0.0.0:8000,unix:/tmp/x.sock",
  "--allow-env=CORTEX_API,NO_COLOR",
  `--allow-run=${Deno.execPath()}`,
  "--no-prompt",
];

Deno.test("denoFlagsProblem(): the supervisor's flags pass", () => {
  assert.equal(denoFlagsProblem(GOOD_FLAGS, ROOT), null);
});

Deno.test("denoFlagsProblem(): a flag that runs other code or widens writes or runs is named", () => {
  for (
    const flag of [
      "--preload=/tmp/evil.ts",
      "--import=/tmp/evil.ts",
      "--require=/tmp/evil.cjs",
      "--inspect=127.0.0.1:9229",
      "--inspect-brk",
      "--v8-flags=--allow-natives-syntax",
      "--allow-all",
      "--allow-ffi",
      "--allow-write",
      "--allow-write=/",
      `--allow-write=${ROOT},/home`,
      "--allow-run",
      "--allow-run=/bin/sh",
      "--allow-read",
      "--env-file=/tmp/.env",
      "--location=https://example.com",
      "--unsafely-ignore-certificate-errors",
      "--node-modules-dir=manual",
      "--watch",
    ]
  ) {
    assert.match(
      denoFlagsProblem([...GOOD_FLAGS, flag], ROOT) ?? "",
      new RegExp(
        `does not give a serving process: ${
          flag.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        }$`,
      ),
      flag,
    );
  }
});

Deno.test("recordEnvProblem(): only the supervisor's variables and values", () => {
  const good = {
    CORTEX_CONTROL_TOKEN: "",
    OTEL_DENO: "false",
    CORTEX_TRACES: "off",
  };
  assert.equal(recordEnvProblem(good), null);
  assert.equal(recordEnvProblem({ ...good, CORTEX_TRACES: "on" }), null);
  for (
    const name of ["LD_PRELOAD", "DENO_DIR", "DENO_V8_FLAGS", "NODE_OPTIONS"]
  ) {
    assert.match(
      recordEnvProblem({ ...good, [name]: "/tmp/evil" }) ?? "",
      new RegExp(`does not set: ${name}$`),
    );
  }
  assert.match(
    recordEnvProblem({ ...good, OTEL_DENO: "true" }) ?? "",
    /OTEL_DENO: not a value/,
  );
  assert.match(
    recordEnvProblem({ ...good, CORTEX_CONTROL_TOKEN: "known-token" }) ?? "",
    /CORTEX_CONTROL_TOKEN: not a value/,
  );
});

/** The runtime's scope as the supervisor writes it. */
function runtimeScope(): Record<string, string> {
  const config = new URL("deno.json", RUNTIME);
  const imports = JSON.parse(Deno.readTextFileSync(config)).imports;
  return Object.fromEntries(
    Object.entries(imports as Record<string, string>).map((
      [k, v],
    ) => [k, v.startsWith("./") ? new URL(v, config).href : v]),
  );
}

function map(
  extra: {
    imports?: Record<string, string>;
    scopes?: Record<string, Record<string, string>>;
  } = {},
): string {
  return JSON.stringify({
    imports: { cortex: `${RUNTIME}mod.ts`, ...extra.imports },
    scopes: {
      [`${RUNTIME}src/`]: runtimeScope(),
      [`${RUNTIME}mod.ts`]: runtimeScope(),
      "file:///p/": { "./local.ts": "./other.ts", "lodash": "npm:lodash@4" },
      ...extra.scopes,
    },
  });
}

Deno.test("importMapProblem(): the supervisor's import map passes, the project's part is free", () => {
  assert.equal(importMapProblem(map(), MAP_URL), null);
  // A project inside the runtime's folder (examples/hello): its scope
  // applies to its own modules only.
  const inside = map({
    scopes: { [`${RUNTIME}examples/hello/`]: { "./a.ts": "./b.ts" } },
  });
  assert.equal(importMapProblem(inside, MAP_URL), null);
});

Deno.test("importMapProblem(): a map that makes the runtime's modules load other code is named", () => {
  const evil = "file:///tmp/evil.ts";
  const cases: [string, RegExp][] = [
    [
      map({ imports: { [`${RUNTIME}src/wire/exit_codes.ts`]: evil } }),
      /remaps file:/,
    ],
    [map({ imports: { "node:fs": evil } }), /remaps node:fs/],
    [map({ imports: { "/etc/": "/tmp/" } }), /remaps \/etc\//],
    [map({ scopes: { [`${RUNTIME}src/server/`]: {} } }), /not the runtime's/],
    // Scopes that apply to runtime modules without being the runtime's.
    [
      map({ scopes: { [`${RUNTIME}s`]: {} } }),
      /scope .*\/s is not the runtime's/,
    ],
    [
      map({ scopes: { [`${RUNTIME}src/wire/exit_codes.ts`]: {} } }),
      /not the runtime's/,
    ],
    [map({ scopes: { [`${RUNTIME}mod`]: {} } }), /scope .*\/mod is not/],
    [
      map({
        scopes: {
          [`${RUNTIME}src/`]: { ...runtimeScope(), "@grpc/grpc-js": evil },
        },
      }),
      /scope .*src\/ is not the runtime's/,
    ],
    // Not normalized: Deno resolves it to the runtime's src/server/.
    [map({ scopes: { [`${RUNTIME}src/./server/`]: {} } }), /not the runtime's/],
    // A scope holding the runtime applies to its modules.
    [
      map({ scopes: { "file:///": { "node:fs": evil } } }),
      /scope file:\/\/\/ remaps node:fs/,
    ],
    [JSON.stringify({ imports: {}, scopes: {} }), /has no scope .*src\//],
    ["[]", /not an object/],
    ["{", /not JSON/],
  ];
  for (const [text, problem] of cases) {
    assert.match(importMapProblem(text, MAP_URL) ?? "", problem, text);
  }
});
