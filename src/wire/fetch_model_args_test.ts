import assert from "node:assert/strict";
import { fetchModelArgv } from "./fetch_model_args.ts";
import { UsageError } from "./argv.ts";

Deno.test("model download argv: parseArgv(toArgv(x)) is x", () => {
  const args = {
    url: "https://models.example/iris.onnx?v=2",
    out: "/s/models/.tmp-1",
  };
  assert.deepEqual(fetchModelArgv.parseArgv(fetchModelArgv.toArgv(args)), args);
});

Deno.test("model download argv: missing and extra arguments are named", () => {
  const cases: [string[], RegExp][] = [
    [[], /expected <url> <out>, got 0 arguments/],
    [["https://m.example/a"], /expected <url> <out>, got 1 arguments/],
    [["https://m.example/a", "/o", "more"], /unexpected argument "more"/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(
      () => fetchModelArgv.parseArgv(bad),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      bad.join(" "),
    );
  }
});
