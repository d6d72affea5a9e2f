/**
 * Regenerates `src/grpc/gen/` (health checking and server reflection) from
 * the `.proto` files in `src/grpc/proto/` with protoc-gen-es.
 *
 * Run from the repo: `./deno run --allow-read --allow-write --allow-env --allow-run scripts/gen_grpc.ts`
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { esTemplate, runBuf } from "../src/grpc/build/buf.ts";

const grpcDir = fileURLToPath(new URL("../src/grpc/", import.meta.url));

await Deno.remove(`${grpcDir}gen`, { recursive: true }).catch(() => {});
const result = await runBuf(
  ["generate", "proto", "--template", await esTemplate("gen")],
  grpcDir,
);
if (!result.success) {
  throw new Error(`Cannot generate src/grpc/gen: ${result.stderr}`);
}
