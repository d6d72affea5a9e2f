/**
 * What the processes of a start load before they serve (issue 17): the
 * supervisor loads no npm package (its parsers are vendored), nor does a
 * replica of an HTTP API; a replica and the serving process never load the
 * cortex.yaml parser (npm "yaml", ~35 ms and ~8 MB each), the serving
 * process not the proto toolchain (only with gRPC APIs), and neither loads
 * `node:crypto` (API keys are hashed by src/edge/sha256.ts); a
 * replica of a plain HTTP API loads no module of a feature it does not use
 * (WebSockets, batching, tracing, edge checks, `ctx.client`, models, warmup,
 * gRPC). Walks the modules each
 * entry loads when it starts: its static imports, not type-only ones and not
 * `import()`s, which load when called.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = new URL("../", import.meta.url);

interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier?: string };
    isDynamic?: boolean;
  }[];
}

/**
 * The chain of static imports from `entry` to each module it loads at start,
 * keyed by module specifier. With `literalImports`, also through each
 * `import("...")` of a literal specifier: Deno reads and parses those
 * modules at a process's start too, whether they run or not.
 */
async function loadedAtStart(
  entry: string,
  { literalImports = false } = {},
): Promise<Map<string, string[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: fileURLToPath(ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const root = info.roots[0]!;
  const chains = new Map<string, string[]>([[root, [root]]]);
  const queue = [root];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const dep of bySpecifier.get(at)?.dependencies ?? []) {
      const next = dep.code?.specifier;
      if (!next || (dep.isDynamic && !literalImports) || chains.has(next)) {
        continue;
      }
      chains.set(next, [...chains.get(at)!, next]);
      queue.push(next);
    }
  }
  return chains;
}

/** The chains that end in a module matching `pattern`. */
function reaching(chains: Map<string, string[]>, pattern: RegExp): string[] {
  return [...chains.entries()]
    .filter(([specifier]) => pattern.test(specifier))
    .map(([, chain]) =>
      chain.map((s) => s.replace(ROOT.href, "")).join(" -> ")
    );
}

/** The cortex.yaml parser (npm "yaml", vendored in src/vendor/yaml/). */
const YAML = /\/src\/vendor\/yaml\//;

Deno.test("start imports: a replica loads neither the YAML parser, node:crypto nor an npm package", async () => {
  const chains = await loadedAtStart("src/replica/process_main.ts");
  // The walk sees the replica's runtime (else it proves nothing).
  assert.ok(
    [...chains.keys()].some((s) => s.endsWith("/src/replica/runtime.ts")),
  );
  assert.ok([...chains.keys()].some((s) => s.endsWith("/mod.ts")));
  assert.deepEqual(reaching(chains, YAML), []);
  assert.deepEqual(reaching(chains, /^node:crypto$/), []);
  // The protobuf runtime (replica_grpc.ts) loads only for a gRPC API: the
  // first npm package of a process costs ~20 ms of its start.
  assert.deepEqual(reaching(chains, /^npm:/), []);
});

/**
 * Modules of features an API turns on in its config or class, which a
 * replica imports only then (issue 17: each costs start-up time and memory).
 */
const FEATURES: Record<string, RegExp> = {
  "WebSocket sessions (handleWebSocket)":
    /\/src\/(replica\/websocket_sessions|websocket\/(handler_socket|relayed_transport)|http\/upgradable_server)\.ts$/,
  "server_side_batching": /\/src\/replica\/(batcher|http_batching)\.ts$/,
  "tracing spans": /\/src\/trace\/(recorder|exporter|otlp_json)\.ts$/,
  "edge checks (CORS, keys, rate limits)":
    /\/src\/(edge\/(edge|cors|keys|presented_key)|config\/edge_config)\.ts$/,
  "ctx.client": /\/src\/replica\/control_client\.ts$/,
  "handler.models": /\/src\/replica\/(handler_models|models)\.ts$/,
  "handler.warmup": /\/src\/replica\/warmup\.ts$/,
  "gRPC and Connect": /\/src\/grpc\/(?!common\/(frames|grpc_error)\.ts$)/,
};

Deno.test("start imports: a replica of a plain HTTP API loads no module of an optional feature", async () => {
  const chains = await loadedAtStart("src/replica/process_main.ts");
  assert.ok(
    [...chains.keys()].some((s) => s.endsWith("/src/replica/http_pipeline.ts")),
  );
  // Deno's internal servers are taken before the handler loads (which removes
  // them); the WebSocket server, loaded later, finds its function there.
  assert.ok(
    [...chains.keys()].some((s) => s.endsWith("/src/http/serve_internals.ts")),
  );
  for (const [feature, pattern] of Object.entries(FEATURES)) {
    assert.deepEqual(reaching(chains, pattern), [], feature);
  }
});

Deno.test("start imports: a replica's start reads not even the YAML parser behind loadHandler", async () => {
  // Deno reads and parses the graph behind a literal import() at start, run
  // or not: the cortex.yaml loader behind loadHandler (mod.ts), ~90 modules
  // and ~1 MB a replica, is imported by a computed URL. (The features'
  // modules are literal imports: a replica may not read the runtime's files,
  // which a computed import would need.)
  const chains = await loadedAtStart("src/replica/process_main.ts", {
    literalImports: true,
  });
  assert.ok(
    [...chains.keys()].some((s) =>
      s.endsWith("/src/replica/websocket_sessions.ts")
    ),
  );
  assert.deepEqual(reaching(chains, YAML), []);
  assert.deepEqual(reaching(chains, /\/src\/config\/load_project\.ts$/), []);
});

Deno.test("start imports: the walk finds each optional feature where it is used", async () => {
  // The patterns name real modules: the modules that use them reach them.
  const users: Record<string, string> = {
    "WebSocket sessions (handleWebSocket)": "src/replica/websocket_sessions.ts",
    "server_side_batching": "src/replica/http_batching.ts",
    "tracing spans": "src/trace/recorder.ts",
    "edge checks (CORS, keys, rate limits)": "src/edge/edge.ts",
    "ctx.client": "src/replica/control_client.ts",
    "handler.models": "src/replica/handler_models.ts",
    "handler.warmup": "src/replica/warmup.ts",
    "gRPC and Connect": "src/replica/replica_grpc.ts",
  };
  for (const [feature, pattern] of Object.entries(FEATURES)) {
    const chains = await loadedAtStart(users[feature]!);
    assert.notDeepEqual(reaching(chains, pattern), [], feature);
  }
});

Deno.test("start imports: the serving process loads neither the YAML parser nor the proto toolchain", async () => {
  // serve_main.ts imports run.ts after "go", when its first replicas are
  // started.
  for (const entry of ["src/server/serve_main.ts", "src/server/run.ts"]) {
    const chains = await loadedAtStart(entry);
    assert.deepEqual(reaching(chains, YAML), []);
    assert.deepEqual(reaching(chains, /\/src\/grpc\/build\//), []);
    // API keys are hashed by src/edge/sha256.ts: node:crypto cost the
    // serving process ~16-20 ms of CPU before its first replica's init.
    assert.deepEqual(reaching(chains, /^node:crypto$/), []);
  }
  // Its light part (before "go" and its first replicas) loads only the
  // node: modules of the replica socket's frames, none for paths or flags.
  const light = await loadedAtStart("src/server/serve_main.ts");
  assert.deepEqual(
    reaching(light, /^node:/).map((c) => c.split(" -> ").at(-1)).sort(),
    ["node:timers", "node:v8"],
  );
  // The rest of it none more (node:path, node:crypto: posix_path.ts,
  // sha256.ts).
  const run = await loadedAtStart("src/server/run.ts");
  assert.deepEqual(
    [...new Set(reaching(run, /^node:/).map((c) => c.split(" -> ").at(-1)))]
      .sort(),
    ["node:timers", "node:v8"],
  );
  assert.ok(
    [...run.keys()].some((s) => s.endsWith("/src/server/project_server.ts")),
  );
});

Deno.test("start imports: the supervisor loads no npm package", async () => {
  // Deno's npm layer costs ~30 ms of the first npm package a process loads:
  // the parsers the supervisor needs are vendored as local modules instead.
  // cli.ts loads the serving process's early start, then the CLI.
  const early = await loadedAtStart("src/supervisor/speculative_start.ts");
  assert.deepEqual(reaching(early, /^npm:/), []);
  // Before it starts a serving process ahead, nothing heavy: no parser, and
  // no node: module (the first one costs a process ~5-8 ms of Deno's Node
  // layer; strict_args.ts and posix_path.ts stand in for node:util,
  // node:path and node:url).
  assert.deepEqual(reaching(early, YAML), []);
  assert.deepEqual(reaching(early, /^node:/), []);
  const chains = await loadedAtStart("src/cli/main.ts");
  assert.ok(
    [...chains.keys()].some((s) => s.endsWith("/src/supervisor/supervise.ts")),
  );
  assert.deepEqual(reaching(chains, /^npm:/), []);
  // No node: module at all: the first ones cost a process ~11-16 ms of CPU
  // on a 2-core Xeon (src/path/posix_path.ts stands in for node:path and
  // node:url).
  assert.deepEqual(reaching(chains, /^node:/), []);
  // The YAML parser is one bundled module (scripts/vendor_npm.ts), not its
  // package's 74 files: ~8 ms of CPU before the supervisor's "go".
  assert.equal(reaching(chains, YAML).length, 1);
  const cli = await Deno.readTextFile(new URL("cli.ts", ROOT));
  assert.match(cli, /import\("\.\/src\/supervisor\/speculative_start\.ts"\)/);
  // The CLI by a computed URL: Deno reads and parses the graph behind each
  // literal import() before cli.ts's first line, which starts the serving
  // process ahead; the early start's graph is all it may parse first.
  assert.match(
    cli,
    /import\(new URL\("\.\/src\/cli\/main\.ts", import\.meta\.url\)\.href\)/,
  );
  const first = await loadedAtStart("cli.ts", { literalImports: true });
  assert.ok(
    [...first.keys()].some((s) =>
      s.endsWith("/src/supervisor/speculative_start.ts")
    ),
  );
  assert.deepEqual(reaching(first, /\/src\/cli\/main\.ts$/), []);
  assert.deepEqual(reaching(first, YAML), []);
});

Deno.test("start imports: the walk finds the YAML parser where it is loaded", async () => {
  // The supervisor parses cortex.yaml: the same walk must name the chain.
  const chains = await loadedAtStart("src/config/load_project.ts");
  assert.notDeepEqual(reaching(chains, YAML), []);
});
