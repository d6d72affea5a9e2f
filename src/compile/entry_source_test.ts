import assert from "node:assert/strict";
import { wrapperPath, wrapperSource } from "./entry_source.ts";

Deno.test("wrapperPath() mirrors the handler path under .cortex/handlers", async (t) => {
  const cases = [
    ["handler.ts", ".cortex/handlers/handler.ts"],
    ["src/api/handler.mjs", ".cortex/handlers/src/api/handler.ts"],
    ["handler.js", ".cortex/handlers/handler.ts"],
  ];
  for (const [path, want] of cases) {
    await t.step(path!, () => assert.equal(wrapperPath(path!), want));
  }
});

Deno.test("wrapperSource() imports the relative-path module first, then the handler", () => {
  const text = wrapperSource("src/handler.ts");
  const imports = [...text.matchAll(/^import .*"(.+)";$/gm)].map((m) => m[1]);
  assert.deepEqual(imports, [
    "../../relative_paths.ts",
    "../../../src/handler.ts",
  ]);
  assert.match(text, /export const Handler = exported\.Handler;/);
  assert.match(text, /export default exported\.default;/);
});
