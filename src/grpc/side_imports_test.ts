/**
 * The rule the layout of src/grpc/ shows: replicas never load grpc-js, the
 * grpc-js frontend (src/grpc/frontend/) or the build tools
 * (src/grpc/build/). Walks the replica's module graph with `deno info`.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = new URL("../../", import.meta.url);

/** Every module reachable from `entry` (statically or by a literal import()). */
async function moduleGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: fileURLToPath(ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  // `npmPackages` lists the whole lockfile; the modules are the graph.
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; npmPackage?: string }[];
  };
  return info.modules.map((m) =>
    m.npmPackage ? `npm:${m.npmPackage}` : m.specifier
  );
}

/** The modules of `graph` that a replica must not load. */
export function forbiddenInReplica(graph: readonly string[]): string[] {
  const frontend = new URL("src/grpc/frontend/", ROOT).href;
  const build = new URL("src/grpc/build/", ROOT).href;
  return graph.filter((s) =>
    /^npm:\/?@grpc\/grpc-js@/.test(s) || s.startsWith(frontend) ||
    s.startsWith(build)
  );
}

Deno.test("side imports: nothing reachable from a replica loads grpc-js, src/grpc/frontend or src/grpc/build", async () => {
  const graph = await moduleGraph("src/replica/process_main.ts");
  // The walk sees the replica's own gRPC side (else it proves nothing).
  assert.ok(
    graph.some((s) => s.endsWith("/src/grpc/replica/connect_serve.ts")),
    "the replica graph holds src/grpc/replica/connect_serve.ts",
  );
  assert.deepEqual(forbiddenInReplica(graph), []);
});

Deno.test("side imports: the check names grpc-js and the frontend", () => {
  const frontend = new URL("src/grpc/frontend/grpc_server.ts", ROOT).href;
  assert.deepEqual(
    forbiddenInReplica([
      "npm:/@grpc/grpc-js@1.14.7/build/src/index.js",
      "npm:@grpc/grpc-js@1.14.7",
      frontend,
      new URL("src/grpc/common/frames.ts", ROOT).href,
    ]),
    [
      "npm:/@grpc/grpc-js@1.14.7/build/src/index.js",
      "npm:@grpc/grpc-js@1.14.7",
      frontend,
    ],
  );
});
